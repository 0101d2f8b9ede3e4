// The studio's small behaviours, on the studio and the image page; app.js runs first and
// holds what every page shares (copy buttons, fields shown for one choice, the "js" class).
// No inline scripts or styles anywhere (strict CSP): colours are set through the CSSOM.
// Every listener is added once, when this file runs, and most go on the document: cards,
// forms and lightbox content that htmx swaps in are never wired up again.
(function () {
  "use strict";
  var each = window.akool.each;

  // --- content that arrives (page load and every htmx swap) ---------------------------------

  function paintPlaceholders(root) {
    each(root, "[data-placeholder]", function (el) {
      if (/^#[0-9a-f]{6}$/i.test(el.dataset.placeholder)) {
        el.style.backgroundColor = el.dataset.placeholder;
      }
    });
  }

  // "Original" keeps the source's shape, so it only makes sense with a source image.
  // (The source image fields themselves show and hide through data-show-when, in app.js.)
  function syncMode(form) {
    if (!form) {
      return;
    }
    var checked = form.querySelector("input[name='mode']:checked");
    var mode = checked ? checked.value : "t2i";
    var scale = form.querySelector("select[name='scale']");
    var original = scale && scale.querySelector("option[value='Original']");
    if (original) {
      original.hidden = original.disabled = mode !== "i2i";
      if (mode !== "i2i" && scale.value === "Original") {
        scale.value = "1:1";
      }
    }
  }

  function syncRanges(root) {
    each(root, "[data-range-output]", function (output) {
      var input = document.getElementById(output.getAttribute("data-range-output"));
      if (input) {
        output.value = input.value;
      }
    });
  }

  // A form that comes back with errors puts the caret in the first one; one that comes back
  // after a successful submit is ready for the next prompt.
  function focusForm(form) {
    var invalid = form.querySelector("[aria-invalid='true']");
    if (invalid) {
      invalid.focus({ preventScroll: true });
      invalid.scrollIntoView({ block: "center", behavior: "instant" });
    } else if (form.querySelector(".form-notice")) {
      // No scrolling: on a phone the new cards just appeared below the form.
      form.querySelector("textarea[name='prompt']").focus({ preventScroll: true });
    }
  }

  // Screen readers hear when images finish (cards swapped in by the poller), in one sentence.
  var finished = { done: 0, failed: 0 };
  var announceTimer = null;
  function noteFinished(card) {
    if (card.querySelector("[role='alert']")) {
      return; // an action on the card failed; the alert speaks for itself
    }
    if (card.classList.contains("is-done")) {
      finished.done += 1;
    } else if (/is-(failed|unknown|expired)/.test(card.className)) {
      finished.failed += 1;
    } else {
      return;
    }
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(function () {
      var parts = [];
      if (finished.done) {
        parts.push(finished.done === 1 ? "1 image is ready" : finished.done + " images are ready");
      }
      if (finished.failed) {
        parts.push(finished.failed === 1 ? "1 image failed" : finished.failed + " images failed");
      }
      var announcer = document.getElementById("studio-announcer");
      if (announcer) {
        announcer.textContent = parts.join(", ") + ".";
      }
      finished = { done: 0, failed: 0 };
    }, 400);
  }

  function arrived(root, swapped) {
    if (swapped && root.matches && root.matches(".job-card")) {
      noteFinished(root);
    }
    paintPlaceholders(root);
    each(root, "#generate-form", function (form) {
      syncMode(form);
      keepPrompt(form, swapped);
      if (swapped) {
        focusForm(form);
      }
    });
    each(root, "#poller[data-gone]", function (poller) {
      removeCards(poller.getAttribute("data-gone").split(" "));
    });
    syncRanges(root);
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    arrived(document, false);
    var form = document.getElementById("generate-form");
    if (form && form.querySelector("[aria-invalid='true']")) {
      focusForm(form);
    }
  });
  document.addEventListener("htmx:load", function (event) {
    arrived(event.target, event.target !== document.body);
  });

  // --- elapsed time on pending cards ---------------------------------------------------------

  function elapsed(since) {
    var seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
    if (seconds < 60) {
      return seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + " min " + (rest < 10 ? "0" : "") + rest + " s";
  }

  // "just now", "5 min ago", "3 h ago", "yesterday"; older dates keep the server's text.
  function relative(when) {
    var minutes = Math.floor((Date.now() - when) / 60000);
    if (minutes < 1) {
      return "just now";
    }
    if (minutes < 60) {
      return minutes + " min ago";
    }
    if (minutes < 24 * 60) {
      return Math.floor(minutes / 60) + " h ago";
    }
    if (minutes < 48 * 60) {
      return "yesterday";
    }
    return null;
  }

  function tick() {
    document.querySelectorAll("time[data-elapsed]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(since)) {
        el.textContent = elapsed(since);
      }
    });
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("datetime"));
      var text = isNaN(when) ? null : relative(when);
      if (text && el.textContent !== text) {
        el.textContent = text;
      }
    });
  }
  window.setInterval(tick, 1000);

  // --- the generation form -------------------------------------------------------------------

  // The prompt being typed is kept in this tab's session storage, so it survives what the
  // page does not: an expired session's trip through the login page, a reload, a history
  // restore. It goes back into an empty prompt box, and is forgotten once a generate succeeds
  // (the form comes back with its success notice).
  function promptKey(form) {
    return "akool:prompt:" + form.getAttribute("action");
  }

  function store(action, key, value) {
    try {
      if (action === "get") {
        return window.sessionStorage.getItem(key);
      }
      if (action === "set") {
        window.sessionStorage.setItem(key, value);
      } else {
        window.sessionStorage.removeItem(key);
      }
    } catch (e) {
      // Storage refused (private mode, quota): the prompt is simply not kept.
    }
    return null;
  }

  function keepPrompt(form, swapped) {
    var prompt = form.querySelector("textarea[name='prompt']");
    if (!prompt) {
      return;
    }
    if (swapped && form.querySelector(".form-notice")) {
      store("remove", promptKey(form));
      return;
    }
    var saved = store("get", promptKey(form));
    if (saved && !prompt.value) {
      prompt.value = saved;
    }
  }

  var estimateTimer = null;
  function recalcEstimate() {
    window.clearTimeout(estimateTimer);
    estimateTimer = window.setTimeout(function () {
      var estimate = document.getElementById("estimate");
      if (estimate && window.htmx) {
        window.htmx.trigger(estimate, "recalc");
      }
    }, 150);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.closest && target.closest("#generate-form");
    if (!form) {
      return;
    }
    if (target.name === "mode") {
      syncMode(form);
    }
    if (target.name === "resolution" || target.name === "batch") {
      recalcEstimate();
    }
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    var form = target.name === "prompt" && target.closest("#generate-form");
    if (form) {
      store(target.value ? "set" : "remove", promptKey(form), target.value);
    }
    if (target.type === "range") {
      syncRanges(target.form || document);
    }
    if (target.name === "batch" && target.closest("#generate-form")) {
      recalcEstimate();
    }
  });

  document.addEventListener("keydown", function (event) {
    // Ctrl/Cmd+Enter in the prompt generates.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target.closest && event.target.closest("#generate-form");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
    }
  });

  document.addEventListener("click", function (event) {
    var example = event.target.closest("[data-fill-prompt]");
    if (example) {
      var prompt = document.querySelector("#generate-form textarea[name='prompt']");
      if (prompt) {
        prompt.value = example.getAttribute("data-fill-prompt");
        prompt.focus();
      }
    }
  });

  // --- the poller: one request a page, paused while the tab is hidden -----------------------

  function isPoller(elt) {
    return !!elt && elt.id === "poller";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var notifying = window.akool.notifyWhileHidden && window.akool.notifyWhileHidden();
    if (isPoller(event.detail.elt) && document.hidden && !notifying) {
      event.preventDefault();
    }
  });

  // Back in view: catch up at once rather than at the next tick.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && document.getElementById("poller") && window.htmx) {
      window.htmx.trigger(document.body, "poll-now");
    }
  });

  // An answer to a poller that a filter change has since replaced describes another gallery.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isPoller(event.detail.elt) && !event.detail.elt.isConnected) {
      event.detail.shouldSwap = false;
    }
  });

  // --- stars: the same image may show its star twice (card and lightbox) ----------------------
  // The answer updates the other one too, but only when it is on the page: the server cannot
  // know, and an out-of-band swap without a target is an error.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.classList || !form.classList.contains("star-form")) {
      return;
    }
    var twin = form.id.replace(/^star-(card|detail)-/, function (_, place) {
      return "star-" + (place === "card" ? "detail" : "card") + "-";
    });
    if (twin !== form.id && document.getElementById(twin)) {
      event.detail.parameters.twin = "1";
    }
  });

  // --- cards that arrive and leave (the poller, Generate, Retry, U/V) ------------------------

  function dropEmptyBatches(root) {
    root.querySelectorAll("section.batch").forEach(function (section) {
      if (!section.querySelector(".job-card")) {
        section.remove();
      }
    });
  }

  function removeCards(codes) {
    codes.forEach(function (code) {
      var card = code && document.getElementById("job-" + code);
      if (card) {
        card.remove();
      }
    });
    dropEmptyBatches(document);
  }

  // New cards come as an out-of-band "afterbegin" into the grid, each alone or in its batch's
  // section. A card already on the page (this tab's own, or one the last answer brought) is
  // never inserted twice: it is replaced if its state moved, else left alone; a card whose
  // batch is on the page joins that section. What is left goes in as htmx meant.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "gallery-grid") {
      return;
    }
    var incoming = event.detail.fragment;
    var placed = [];
    incoming.querySelectorAll(".job-card").forEach(function (card) {
      var present = document.getElementById(card.id);
      if (!present) {
        return;
      }
      if (present.getAttribute("data-state") !== card.getAttribute("data-state")) {
        present.replaceWith(card);
        placed.push(card);
      } else {
        card.remove();
      }
    });
    incoming.querySelectorAll("section.batch").forEach(function (section) {
      var existing = section.id && document.getElementById(section.id);
      if (!existing || existing === section) {
        return;
      }
      var into = existing.querySelector(".batch-cards") || existing;
      var cards = section.querySelectorAll(".job-card");
      for (var i = cards.length - 1; i >= 0; i -= 1) {
        into.prepend(cards[i]);
        placed.push(cards[i]);
      }
      section.remove();
    });
    dropEmptyBatches(incoming);
    placed.forEach(function (card) {
      if (window.htmx) {
        window.htmx.process(card);
      }
      arrived(card, true);
    });
    if (placed.length || incoming.querySelector(".job-card")) {
      var empty = document.getElementById("gallery-empty");
      if (empty) {
        empty.remove();
      }
    }
  });

  // A card deleted out of band may leave its batch's section empty.
  document.addEventListener("htmx:afterSwap", function () {
    dropEmptyBatches(document);
  });

  // --- the lightbox, with a URL ----------------------------------------------------------------
  // Opening an image pushes its URL (the image page, which opens the same image in a new tab);
  // browsing newer/older inside replaces it, so one Back closes the lightbox. Closing it any
  // other way goes back too, so the gallery's entry is the current one again.

  function lightbox() {
    return document.getElementById("lightbox");
  }

  function inLightboxEntry() {
    return !!(window.history.state && window.history.state.lightbox);
  }

  var reopening = false;

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = lightbox();
    var target = event.detail.target; // none after a history restore
    if (!box || !target || target.id !== "lightbox-body") {
      return;
    }
    var info = event.detail.pathInfo || {};
    var url = info.finalRequestPath || info.requestPath;
    if (!box.open) {
      box.showModal();
      if (url && !reopening) {
        window.history.pushState({ lightbox: true }, "", url);
      }
    } else if (url && inLightboxEntry()) {
      window.history.replaceState({ lightbox: true }, "", url);
    }
    reopening = false;
    var title = document.getElementById("detail-title");
    if (title) {
      title.focus({ preventScroll: true });
    }
  });

  function closeLightbox() {
    var box = lightbox();
    if (!box || !box.open) {
      return;
    }
    if (inLightboxEntry()) {
      window.history.back(); // popstate closes it, once the gallery's URL is back
    } else {
      box.close();
    }
  }

  window.addEventListener("popstate", function (event) {
    var box = lightbox();
    if (!box) {
      return;
    }
    if (event.state && event.state.lightbox) {
      // Forward again onto an image: show it again.
      if (!box.open && window.htmx) {
        reopening = true;
        window.htmx.ajax("GET", window.location.href, { target: "#lightbox-body", swap: "innerHTML" });
      }
    } else if (box.open) {
      box.close();
    }
  });

  // "close" and "cancel" do not bubble: caught on their way down instead.
  document.addEventListener("close", function (event) {
    if (event.target === lightbox()) {
      document.getElementById("lightbox-body").replaceChildren();
      if (inLightboxEntry()) {
        window.history.back(); // closed by the browser itself (Esc pressed twice, say)
      }
    }
  }, true);

  document.addEventListener("cancel", function (event) {
    if (event.target === lightbox() && inLightboxEntry()) {
      event.preventDefault();
      closeLightbox();
    }
  }, true);

  document.addEventListener("studio:close-lightbox", closeLightbox);

  document.addEventListener("click", function (event) {
    // A click on the backdrop (the dialog itself, outside its content) closes it.
    if (event.target === lightbox()) {
      closeLightbox();
      return;
    }
    var close = event.target.closest("[data-close-lightbox]");
    if (close && close.closest("dialog")) {
      event.preventDefault();
      closeLightbox();
    }
  });

  // --- history snapshots (Back/Forward through filter changes) -------------------------------
  // htmx keeps the page's main element as HTML and re-parses it on Back. Two things need care:
  // style attributes that JavaScript set through the CSSOM (placeholder colours) would come
  // back as inline styles, which our CSP blocks; and form controls come back as the server
  // first rendered them, not as the URL says.

  function pathOf(url) {
    var parsed = new URL(url, window.location.href);
    return parsed.pathname.replace(/\/+$/, "") + parsed.search;
  }

  var shownPath = pathOf(window.location.href); // the URL the gallery below shows

  document.addEventListener("htmx:beforeHistorySave", function (event) {
    var styled = [];
    each(event.detail.historyElt, "[style]", function (el) {
      styled.push([el, el.style.cssText]);
      el.removeAttribute("style");
    });
    // The snapshot is taken synchronously after this event: put the looks back right after.
    window.queueMicrotask(function () {
      styled.forEach(function (pair) {
        pair[0].style.cssText = pair[1];
      });
    });
  });

  ["htmx:pushedIntoHistory", "htmx:replacedInHistory"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      shownPath = pathOf(event.detail.path);
    });
  });

  // Back from an image to the gallery it was opened on: the gallery is there already, under
  // the lightbox. Re-parsing it would only lose its loaded images and state.
  ["htmx:historyCacheHit", "htmx:historyCacheMiss"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (pathOf(event.detail.path) === shownPath) {
        event.preventDefault();
      }
    });
  });

  function syncFilters() {
    var form = document.getElementById("filters");
    if (!form) {
      return;
    }
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) {
        return;
      }
      var value = params.get(field.name) || "";
      if (field.type === "checkbox") {
        field.checked = value !== "";
      } else if (field.tagName === "SELECT") {
        field.value = value;
        if (field.selectedIndex < 0) {
          field.selectedIndex = 0;
        }
      } else if (field.type !== "submit" && field.type !== "button") {
        field.value = value;
      }
    });
  }

  document.addEventListener("htmx:historyRestore", function (event) {
    shownPath = pathOf(event.detail.path);
    syncFilters();
    arrived(document, false);
  });

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // ←/→ browse newer/older images, in the lightbox or on the image page.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || typing(event.target)) {
      return;
    }
    var box = lightbox();
    var scope = box && box.open ? box : document.querySelector(".image-detail:not(.in-lightbox)");
    if (!scope) {
      return;
    }
    var nav = { ArrowLeft: "newer", ArrowRight: "older" }[event.key];
    var link = nav && scope.querySelector("a[data-nav='" + nav + "']");
    if (!link) {
      return;
    }
    event.preventDefault();
    if (scope === box && window.htmx) {
      // Straight to htmx: a key pressed within the few milliseconds before htmx has wired
      // up freshly swapped links would otherwise leave the lightbox for the full page.
      // The link is the source, so the request swaps where the link's container says.
      window.htmx.ajax("GET", link.getAttribute("href"), { source: link });
    } else {
      link.click();
    }
  });
})();
