// The studio's layout: card shapes and batch widths in the gallery, the generation form's
// settings sheet and its clear button. The page lays out without this file (the ratio classes
// in studio.css); this makes shapes exact and rows even. Styles go through the CSSOM (CSP).
(function () {
  "use strict";

  // Each card grows in proportion to its width / height, so the cards of a row end up the
  // same height; each batch grows by the sum of its cards, so neighbouring batches match too.
  function layout() {
    var grid = document.getElementById("gallery-grid");
    if (!grid) {
      return;
    }
    grid.querySelectorAll(".batch").forEach(function (batch) {
      var weight = 0;
      batch.querySelectorAll(".job-card[data-ratio]").forEach(function (card) {
        var ratio = parseFloat(card.getAttribute("data-ratio"));
        if (ratio > 0 && isFinite(ratio)) {
          card.style.setProperty("--ratio", String(ratio));
          weight += ratio;
        }
      });
      if (weight > 0) {
        batch.style.flexGrow = String(weight);
      }
    });
  }

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
    layout();
    openSheetWhenWide(document);
  });
  document.addEventListener("htmx:load", function (event) {
    openSheetWhenWide(event.target);
    layout();
  });
  // After every swap (cards arriving, a "load more" page, cards moved between batches).
  document.addEventListener("htmx:afterSettle", layout);
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
