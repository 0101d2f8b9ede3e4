// Browser notifications for the person's own generations, shown while the studio tab is
// hidden (a visible tab shows the cards themselves). The person turns them on on their
// account page (the body then carries data-notify-browser) and the browser must allow them:
// it asks only after a click, so the permission has a button of its own.
// The live poller brings finished cards into the gallery; this file watches their states.
(function () {
  "use strict";
  var SETTLED = { done: true, failed: true, unknown: true, expired: true };
  var lastState = {};

  function supported() {
    return "Notification" in window;
  }

  function wanted() {
    return !!document.body && document.body.hasAttribute("data-notify-browser") &&
      supported() && window.Notification.permission === "granted";
  }

  // The studio's poller rests while the tab is hidden, unless one of the person's own images
  // is still on its way and they want to hear of it (studio.js asks this).
  window.akool = window.akool || {};
  window.akool.notifyWhileHidden = function () {
    return wanted() && !!document.querySelector(".job-card[data-mine] input[name='pending']");
  };

  function show(card, state) {
    var section = card.closest("[data-generation]");
    var prompt = section && section.querySelector(".batch-prompt");
    var ready = state === "done";
    var note = new window.Notification(ready ? "Your image is ready" : "Your image could not be made", {
      // The prompt, as the batch's heading shows it.
      body: prompt ? prompt.textContent.trim().slice(0, 120) : "",
      // One notification per generation: its next image replaces it instead of piling up.
      tag: section ? "generation-" + section.getAttribute("data-generation") : card.id,
    });
    note.addEventListener("click", function () {
      window.focus();
      note.close();
    });
  }

  // Remember every own card's state; tell of those that moved from pending to an end.
  function scan(tell) {
    document.querySelectorAll(".job-card[data-mine]").forEach(function (card) {
      var state = card.getAttribute("data-state");
      var before = lastState[card.id];
      lastState[card.id] = state;
      if (tell && before && !SETTLED[before] && SETTLED[state] && document.hidden && wanted()) {
        show(card, state);
      }
    });
  }

  // --- the permission button --------------------------------------------------------------

  var DESCRIBE = {
    granted: "This browser shows your notifications.",
    denied: "This browser blocks notifications from this site; allow them in its site settings.",
    default: "This browser has not been asked yet.",
  };

  function showPermission() {
    document.querySelectorAll("[data-notify-permission-box]").forEach(function (box) {
      var permission = supported() ? window.Notification.permission : "";
      var onlyWhenUnasked = box.hasAttribute("data-notify-unasked");
      box.hidden = !supported() || (onlyWhenUnasked && permission !== "default");
      var state = box.querySelector("[data-notify-permission-state]");
      if (state) {
        state.textContent = DESCRIBE[permission] || "";
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-notify-permission]");
    if (!button || !supported()) {
      return;
    }
    var asked = window.Notification.requestPermission(showPermission);
    if (asked && asked.then) {
      asked.then(showPermission);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    scan(false);
    showPermission();
  });
  document.addEventListener("htmx:afterSettle", function () {
    scan(true);
  });
})();
