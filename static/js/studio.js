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
      if (swapped) {
        focusForm(form);
      }
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

  // --- the poller: one request for all pending cards, paused while the tab is hidden ----------

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "poller" && document.hidden) {
      event.preventDefault();
    }
  });

  // --- the lightbox --------------------------------------------------------------------------

  function lightbox() {
    return document.getElementById("lightbox");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = lightbox();
    if (!box || event.detail.target.id !== "lightbox-body") {
      return;
    }
    if (!box.open) {
      box.showModal();
    }
    var title = document.getElementById("detail-title");
    if (title) {
      title.focus({ preventScroll: true });
    }
  });

  function closeLightbox() {
    var box = lightbox();
    if (box && box.open) {
      box.close();
    }
  }

  // "close" does not bubble: caught on its way down instead.
  document.addEventListener("close", function (event) {
    if (event.target === lightbox()) {
      document.getElementById("lightbox-body").replaceChildren();
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

  // --- errors an htmx request met ------------------------------------------------------------

  function flash(text) {
    var holder = document.getElementById("messages");
    if (!holder) {
      return;
    }
    var list = document.createElement("ul");
    list.className = "messages";
    list.setAttribute("role", "alert");
    var item = document.createElement("li");
    item.className = "alert alert-error";
    item.textContent = text;
    list.appendChild(item);
    holder.replaceChildren(list);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var text = type.indexOf("text/plain") === 0 || type.indexOf("text/html") === 0 && xhr.responseText.length < 300
      ? xhr.responseText
      : "";
    if (type.indexOf("text/html") === 0 && /<html/i.test(xhr.responseText)) {
      text = "";
    }
    flash(text || "That did not work (error " + xhr.status + "). Reload the page and try again.");
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "poller") {
      return; // the next tick tries again
    }
    flash("The server could not be reached. Check your connection and try again.");
  });
})();
