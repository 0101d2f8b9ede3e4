// Selection mode on the studio: each finished card has a checkbox that belongs to the bulk
// bar's form (form="bulk-form"), so the form posts the ticked codes by itself. This script
// adds what a plain form cannot: Shift-click ticks a range (in page order), "x" (keys.js)
// ticks the focused card, Esc clears, the bar shows only while something is selected and says
// how many, and each action asks once. "Select all matching" is answered by the server
// (#bulk-all gets all=1 and the count); un-ticking a card, or a new filter, leaves that mode.
(function () {
  "use strict";

  var anchor = null; // the checkbox clicked last, where a Shift-click range starts
  var allHTML = null; // #bulk-all as first served: the "Select all matching" button

  function form() {
    return document.getElementById("bulk-form");
  }

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#gallery-grid .select-box"));
  }

  function allCount() {
    var marker = document.querySelector("#bulk-all [data-match-count]");
    return marker ? parseInt(marker.getAttribute("data-match-count"), 10) : null;
  }

  function leaveAll() {
    var all = document.getElementById("bulk-all");
    if (all && allHTML !== null && allCount() !== null) {
      all.innerHTML = allHTML;
      if (window.htmx) {
        window.htmx.process(all);
      }
    }
  }

  function update() {
    var bar = form();
    if (!bar) {
      return;
    }
    var list = boxes();
    var ticked = list.filter(function (box) { return box.checked; }).length;
    var all = allCount();
    list.forEach(function (box) {
      box.closest(".job-card").classList.toggle("is-selected", box.checked);
    });
    var grid = document.getElementById("gallery-grid");
    if (grid) {
      grid.classList.toggle("is-selecting", ticked > 0 || all !== null);
    }
    // After an action the bar stays to say what happened, until the next selection or Esc.
    var status = document.getElementById("bulk-status");
    var said = !!(status && status.textContent.trim());
    bar.classList.toggle("is-active", ticked > 0 || all !== null || said);
    var count = document.getElementById("bulk-count");
    if (count) {
      count.textContent = all !== null ? "" : ticked === 1 ? "1 image selected" : ticked + " images selected";
    }
    updateCompare();
  }

  // Compare takes 2 to 4 images: outside that it stays focusable, looks disabled and says why.
  var COMPARE_MIN = 2;
  var COMPARE_MAX = 4;

  function selectedCount() {
    var all = allCount();
    return all !== null ? all : boxes().filter(function (box) { return box.checked; }).length;
  }

  function updateCompare() {
    var button = document.querySelector("#bulk-form [data-compare]");
    if (button) {
      var count = selectedCount();
      var ok = count >= COMPARE_MIN && count <= COMPARE_MAX;
      button.setAttribute("aria-disabled", ok ? "false" : "true");
      button.title = ok ? "Compare these images side by side" : "Select 2 to 4 images to compare";
    }
  }

  function tickAll(on) {
    boxes().forEach(function (box) { box.checked = on; });
  }

  function say(text) {
    var status = document.getElementById("bulk-status");
    if (status) {
      status.textContent = text;
    }
  }

  function clear() {
    say("");
    leaveAll();
    tickAll(false);
    anchor = null;
    update();
  }

  // Shift-click: every box between the last one clicked and this one takes this one's state.
  document.addEventListener("click", function (event) {
    var box = event.target.closest && event.target.closest("#gallery-grid .select-box");
    if (box) {
      var list = boxes();
      if (event.shiftKey && anchor && anchor.isConnected && anchor !== box) {
        var from = list.indexOf(anchor);
        var to = list.indexOf(box);
        list.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) {
          other.checked = box.checked;
        });
      }
      anchor = box;
      say("");
      if (!box.checked) {
        leaveAll();
      }
      update();
      return;
    }
    if (event.target.closest && event.target.closest("[data-bulk-clear]")) {
      clear();
      return;
    }
    var compare = event.target.closest && event.target.closest("#bulk-form [data-compare]");
    if (compare && compare.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      var count = selectedCount();
      say(
        "Compare takes " + COMPARE_MIN + " to " + COMPARE_MAX + " images; " +
          (count === 1 ? "1 is" : count + " are") + " selected."
      );
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || document.querySelector("dialog[open]")) {
      return;
    }
    var bar = form();
    if (bar && bar.classList.contains("is-active")) {
      clear();
    }
  });

  // One confirmation per action, naming what it applies to.
  document.addEventListener("htmx:confirm", function (event) {
    var button = event.detail.elt;
    var verb = button && button.getAttribute && button.getAttribute("data-bulk-verb");
    if (!verb) {
      return;
    }
    event.preventDefault();
    var all = allCount();
    var ticked = boxes().filter(function (box) { return box.checked; }).length;
    var count = all !== null ? all : ticked;
    var what = count === 1 ? "1 image" : count + " images";
    var message = verb + " " + (all !== null ? "all " : "") + what + "?";
    var warning = button.getAttribute("data-bulk-warning");
    if (warning) {
      message += " " + warning;
    }
    if (window.confirm(message)) {
      event.detail.issueRequest(true);
    }
  });

  // The server has applied an action: the selection is spent.
  document.addEventListener("bulk:done", function () {
    leaveAll();
    tickAll(false);
    anchor = null;
    update();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "bulk-all") {
      tickAll(true); // every loaded card shows as selected, with the rest of the matches
      update();
    }
  });

  // A new gallery (a filter change) or cards that come and go change what is selected.
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id === "gallery" || event.target === document.body) {
      leaveAll();
    }
    if (allCount() !== null && event.target.querySelectorAll) {
      event.target.querySelectorAll(".select-box").forEach(function (box) { box.checked = true; });
    }
    update();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("bulk-all");
    allHTML = all ? all.innerHTML : null;
    update();
  });
})();
