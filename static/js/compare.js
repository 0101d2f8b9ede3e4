// The compare page: with two images, the A/B slider clips the top picture (A) at the range
// input's value, so A shows left of the line and B right of it. Keys: ←/→ move the slider, or,
// on one of the pictures below, move focus to the next or previous picture; Esc goes back to
// the gallery. A range input moves with the arrow keys by itself once it has focus.
(function () {
  "use strict";

  var STEP = 5; // how far ←/→ move the slider when it does not have focus

  function range() {
    return document.querySelector("[data-ab-range]");
  }

  function show(input) {
    var value = Math.max(0, Math.min(100, parseInt(input.value, 10) || 0));
    var top = document.querySelector("[data-ab-top]");
    var divider = document.querySelector("[data-ab-divider]");
    if (top) {
      top.style.clipPath = "inset(0 " + (100 - value) + "% 0 0)";
    }
    if (divider) {
      divider.style.left = value + "%";
    }
    input.setAttribute("aria-valuetext", value + "% A, " + (100 - value) + "% B");
  }

  function typing(target) {
    return target && target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-ab-range]")) {
      show(event.target);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var target = event.target;
    if (event.key === "Escape") {
      var back = document.querySelector("[data-compare-back]");
      if (back) {
        event.preventDefault();
        window.location.assign(back.href);
      }
      return;
    }
    if ((event.key !== "ArrowLeft" && event.key !== "ArrowRight") || typing(target)) {
      return;
    }
    var forward = event.key === "ArrowRight";
    var item = target.closest && target.closest("[data-compare-item]");
    var slider = range();
    if (item || !slider) {
      var items = Array.prototype.slice.call(document.querySelectorAll("[data-compare-item]"));
      if (!items.length) {
        return;
      }
      var at = items.indexOf(item);
      var next = at < 0 ? 0 : Math.max(0, Math.min(items.length - 1, at + (forward ? 1 : -1)));
      event.preventDefault();
      items[next].focus();
      return;
    }
    event.preventDefault();
    slider.value = String(parseInt(slider.value, 10) + (forward ? STEP : -STEP));
    show(slider);
    slider.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var slider = range();
    if (slider) {
      show(slider);
    }
  });
})();
