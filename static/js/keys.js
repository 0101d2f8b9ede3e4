// The keyboard map (listed in the "?" dialog, _keyboard_help.html), on the studio and the
// image page. Keys act on the open lightbox, else the image page, else the focused card,
// through the controls already there (star form, download link, delete form with its
// confirm, U/V buttons, the Re-run link): a key does what a click does, nothing more.
// ←/→ in the lightbox and on the image page belong to studio.js (browsing newer/older);
// "x" ticks the focused card's selection box, which select.js follows like a click.
// One listener on the document, added once: swapped-in cards need no wiring.
(function () {
  "use strict";

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function help() {
    return document.getElementById("keyboard-help");
  }

  function openLightbox() {
    var box = document.getElementById("lightbox");
    return box && box.open ? box : null;
  }

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("#gallery-grid .job-card"));
  }

  function currentCard() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("#gallery-grid .job-card") : null;
  }

  // What f, d, Del, u/v and r act on.
  function scope() {
    return openLightbox() || document.querySelector(".image-detail:not(.in-lightbox)") || currentCard();
  }

  function focusCard(card) {
    if (!card) {
      return;
    }
    // Focusable by script only: Tab still goes through the links and buttons inside.
    if (!card.hasAttribute("tabindex")) {
      card.setAttribute("tabindex", "-1");
    }
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function step(by) {
    var list = cards();
    var at = list.indexOf(currentCard());
    if (!list.length) {
      return;
    }
    focusCard(list[at < 0 ? 0 : Math.min(Math.max(at + by, 0), list.length - 1)]);
  }

  // ↑/↓: the nearest card in the row above/below, the one closest to the same column.
  function stepRow(down) {
    var list = cards();
    var card = currentCard();
    if (!card) {
      focusCard(list[0]);
      return;
    }
    var from = card.getBoundingClientRect();
    var middle = from.left + from.width / 2;
    var best = null;
    var bestScore = Infinity;
    list.forEach(function (other) {
      var box = other.getBoundingClientRect();
      var gap = down ? box.top - from.bottom : from.top - box.bottom;
      if (other === card || gap < -from.height / 2) {
        return;
      }
      var score = Math.round(Math.max(gap, 0)) * 100000 + Math.abs(box.left + box.width / 2 - middle);
      if (score < bestScore) {
        best = other;
        bestScore = score;
      }
    });
    if (best) {
      focusCard(best);
    }
  }

  function press(root, selector) {
    var control = root && root.querySelector(selector);
    if (!control || control.disabled) {
      return false;
    }
    // Content htmx swapped in a moment ago may not be wired up yet, and a click then would
    // leave the page for the form's plain action. Processing an element twice is harmless.
    if (window.htmx) {
      window.htmx.process(control.closest("form") || control);
    }
    control.click();
    return true;
  }

  function jobCode(root) {
    if (root.id && root.id.indexOf("job-") === 0) {
      return root.id.slice(4);
    }
    var detail = root.matches("[data-job]") ? root : root.querySelector("[data-job]");
    return detail ? detail.getAttribute("data-job") : "";
  }

  function openCard(card) {
    var link = card.querySelector("a[hx-get]") || card.querySelector("a[href]");
    if (!link) {
      return;
    }
    if (link.hasAttribute("hx-get") || !window.htmx) {
      link.click();
    } else {
      window.htmx.ajax("GET", link.getAttribute("href"), {
        source: link, target: "#lightbox-body", swap: "innerHTML"
      });
    }
  }

  // The studio's form, filled by the server with the image's prompt and settings; on the
  // image page (no form there) the Re-run link opens the studio with it.
  function rerun(root) {
    var form = document.getElementById("generate-form");
    var url = help() && help().getAttribute("data-form-url");
    var code = jobCode(root);
    if (!form || !url || !code || !window.htmx) {
      press(root, "a[href*='rerun=']");
      return;
    }
    document.dispatchEvent(new CustomEvent("studio:close-lightbox"));
    window.htmx.ajax("GET", url + "?from=" + encodeURIComponent(code), {
      target: "#generate-form", swap: "outerHTML"
    }).then(function () {
      var fresh = document.getElementById("generate-form");
      if (fresh) {
        fresh.scrollIntoView({ block: "nearest" });
        fresh.querySelector("textarea[name='prompt']").focus({ preventScroll: true });
      }
    });
  }

  var ACTIONS = {
    f: function (root) { press(root, "form[action$='/star/'] button[type='submit']"); },
    d: function (root) { press(root, "a[download]"); },
    Delete: function (root) { press(root, "form[action$='/delete/'] button[type='submit']"); },
    r: rerun
  };

  var prefix = ""; // "g", "u" or "v", waiting for the second key

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey
        || typing(event.target)) {
      return;
    }
    var dialog = help();
    if (dialog && dialog.open) {
      return; // the browser closes it on Esc and keeps focus inside
    }
    var key = event.key;
    var waiting = prefix;
    prefix = "";
    if (waiting === "g") {
      if (key === "g") {
        event.preventDefault();
        window.scrollTo({ top: 0, behavior: "instant" });
      }
      return;
    }
    if (waiting === "u" || waiting === "v") {
      if (/^[1-4]$/.test(key)) {
        event.preventDefault();
        press(scope(), "button[name='button'][value='" + waiting.toUpperCase() + key + "']");
      }
      return;
    }
    if (key === "?") {
      event.preventDefault();
      if (dialog) {
        dialog.showModal();
      }
      return;
    }
    if (key === "g" || key === "u" || key === "v") {
      prefix = key;
      return;
    }
    if (key === "/") {
      var search = document.getElementById("filter-q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    var box = openLightbox();
    var card = currentCard();
    if (!box && document.getElementById("gallery-grid")) {
      var move = { j: 1, k: -1, ArrowRight: 1, ArrowLeft: -1 }[key];
      if (move) {
        event.preventDefault();
        step(move);
        return;
      }
      if (key === "ArrowDown" || key === "ArrowUp") {
        event.preventDefault();
        stepRow(key === "ArrowDown");
        return;
      }
      if (key === "Escape" && card) {
        card.blur();
        return;
      }
      if (key === "x" && card) {
        event.preventDefault();
        card.querySelector(".select-box") && card.querySelector(".select-box").click();
        return;
      }
      if (key === "Enter" && card && document.activeElement === card) {
        event.preventDefault();
        openCard(card);
        return;
      }
    }
    var root = scope();
    if (root && ACTIONS[key]) {
      event.preventDefault();
      ACTIONS[key](root);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-open-keys]") && help()) {
      help().showModal();
    }
  });

  // Enter in the history search would submit the generation form around it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-history-search]")) {
      event.preventDefault();
    }
  });
})();
