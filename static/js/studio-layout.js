// The generation form's settings sheet and its clear button. (The gallery's layout is CSS
// alone: a style set here on a card or a batch would be copied by htmx as a style attribute
// when it swaps that element, which the CSP refuses.)
(function () {
  "use strict";

  // The settings sheet is a disclosure on phones only; wider screens always show it.
  var wide = window.matchMedia("(min-width: 40.01rem)");
  function openSheetWhenWide(root) {
    if (!wide.matches) {
      return;
    }
    (root.querySelectorAll ? root : document).querySelectorAll("details.settings-sheet").forEach(
      function (sheet) {
        sheet.open = true;
      }
    );
  }

  document.addEventListener("DOMContentLoaded", function () {
    openSheetWhenWide(document);
  });
  document.addEventListener("htmx:load", function (event) {
    openSheetWhenWide(event.target);
  });
  wide.addEventListener("change", function () {
    openSheetWhenWide(document);
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest && event.target.closest("[data-clear-prompt]");
    if (!clear) {
      return;
    }
    var prompt = document.getElementById(clear.getAttribute("data-clear-prompt"));
    if (prompt) {
      prompt.value = "";
      // Whatever keeps the typed prompt (a draft saved for later) hears about it.
      prompt.dispatchEvent(new Event("input", { bubbles: true }));
      prompt.focus();
    }
  });
})();
