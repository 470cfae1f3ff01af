// idebook: scale equations and tables down to the width of the content column.
//
// MathJax 3 does not break long equations into lines, and a formula cannot be broken inside a
// table cell either. On a phone held upright some of the book's equations and tables are wider
// than the column. Each one that does not fit (a display equation next to its number, an inline
// formula in its paragraph, a table in its box) gets a smaller font size, in proportion, so that
// it fits. Sizes are set back to the original first whenever the window changes size.
// See _theme/idebook.css; tests/browser/test_layout.py checks the result.
(function () {
  "use strict";

  var BLOCK = "p, li, dd, dt, td, th, div, section, article";

  function reset(el) {
    if (el.dataset.idebookFontSize === undefined) {
      el.dataset.idebookFontSize = el.style.fontSize || "";
    }
    el.style.fontSize = el.dataset.idebookFontSize;
  }

  function shrink(el, room, need) {
    if (need > room && room > 0) {
      var size = parseFloat(getComputedStyle(el).fontSize);
      el.style.fontSize = (Math.floor(size * room / need * 10) / 10) + "px";
    }
  }

  function contentWidth(el) {
    var s = getComputedStyle(el);
    return el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  }

  function fitMath() {
    document.querySelectorAll("mjx-container").forEach(function (box) {
      if (box.closest("table")) return;  // scaled with its table
      reset(box);
      var math = box.firstElementChild;
      if (!math) return;
      var need = math.getBoundingClientRect().width;
      if (box.getAttribute("display") === "true") {
        var eqno = box.parentElement && box.parentElement.querySelector(":scope > .eqno");
        shrink(box, box.clientWidth - (eqno ? eqno.getBoundingClientRect().width + 4 : 0), need);
      } else {
        var block = box.parentElement && box.parentElement.closest(BLOCK);
        if (block) shrink(box, contentWidth(block), need);
      }
    });
  }

  function fitTables() {
    document.querySelectorAll(".bd-article table").forEach(function (table) {
      reset(table);
      var parent = table.parentElement;
      for (var i = 0; i < 4 && parent; i++) {  // the table's width is not linear in its font
        var room = contentWidth(parent), need = table.getBoundingClientRect().width;
        if (need <= room + 0.5) break;
        shrink(table, room, need);
      }
    });
  }

  var pending = null;
  function schedule() {
    if (pending) cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () { pending = null; fitMath(); fitTables(); });
  }

  window.addEventListener("load", function () {
    var M = window.MathJax;
    if (M && M.startup && M.startup.promise) {
      M.startup.promise.then(schedule);
    } else {
      schedule();
    }
  });
  window.addEventListener("resize", schedule);
})();
