// Small progressive enhancements. Every page works without this file.
// Loaded in <head> without defer, before any page script: the "js" class is set before the
// first paint, and page scripts (studio.js) find the shared helpers in window.akool.
// Every listener goes on the document, once: content that htmx swaps in needs no wiring.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // fn(element) for root itself and every element below it that matches selector.
  function each(root, selector, fn) {
    if (root.matches && root.matches(selector)) {
      fn(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll(selector).forEach(fn);
    }
  }

  // Copy text to the clipboard and say so on the button for a moment. When the browser
  // refuses, the text is left selected (in field, or a hidden helper) to copy by hand.
  function copyText(button, text, field) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (field) {
          field.select();
        }
      });
      return;
    }
    var area = field;
    if (!area) {
      area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
    }
    area.select();
    try {
      document.execCommand("copy");
      done();
    } catch (e) {
      // Nothing more to try; the text is on the page to copy by hand.
    }
    if (area !== field) {
      area.remove();
    }
  }

  // Copy buttons: <button data-copy="id-of-input"> or <button data-copy-text="the text">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-text]");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (button.hasAttribute("data-copy-text")) {
      copyText(button, button.getAttribute("data-copy-text"));
      return;
    }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (input) {
      copyText(button, input.value, input);
    }
  });

  // Fields shown only when a radio choice needs them: <div data-show-when="name=value">.
  // They are hidden with the class when-off (shown anyway without JavaScript); a template
  // that knows the choice renders the class itself, so nothing is painted and then hidden.
  function syncShowWhen(root) {
    each(root, "[data-show-when]", function (block) {
      var parts = block.getAttribute("data-show-when").split("=");
      var form = block.closest("form");
      if (!form) {
        return;
      }
      var checked = form.querySelector('input[name="' + parts[0] + '"]:checked');
      block.classList.toggle("when-off", !!checked && checked.value !== parts[1]);
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=radio]") && event.target.form) {
      syncShowWhen(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncShowWhen(document);
  });
  document.addEventListener("htmx:load", function (event) {
    syncShowWhen(event.target);
  });

  // Team switcher and similar selects: submit as soon as a choice is made.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.requestSubmit();
    }
  });

  // Forms with data-confirm ask before doing something hard to undo.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- what a failed htmx request met, said in place -----------------------------------------
  // A toast in the page's polite live region (#toasts); it can be dismissed and hides by
  // itself. The words are the server's when it answers text/plain (the app's own messages),
  // else a generic line: an HTML error page or a stack trace is never shown.

  var TOAST_MS = 8000;

  function toast(text) {
    var region = document.getElementById("toasts");
    if (!region) {
      return;
    }
    var item = document.createElement("div");
    item.className = "toast alert alert-error";
    var words = document.createElement("p");
    words.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close link-button";
    close.setAttribute("data-dismiss-toast", "");
    close.textContent = "Dismiss";
    item.appendChild(words);
    item.appendChild(close);
    region.appendChild(item);
    window.setTimeout(function () {
      item.remove();
    }, TOAST_MS);
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dismiss-toast]");
    if (close) {
      close.closest(".toast").remove();
    }
  });

  function plainText(xhr) {
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var text = type.indexOf("text/plain") === 0 ? (xhr.responseText || "").trim() : "";
    // A short sentence or two; anything longer is not a message meant for people.
    return text.length <= 300 && text.split("\n").length <= 3 ? text : "";
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    toast(plainText(xhr) || "That did not work (error " + xhr.status + "). Reload the page and try again.");
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "poller") {
      return; // the next tick tries again
    }
    toast("The server could not be reached. Check your connection and try again.");
  });

  window.akool = { each: each, toast: toast };
})();
