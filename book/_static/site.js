// The book's own script (loaded on every page through html_js_files in _config.yml).
//
// A displayed formula wider than the column scrolls sideways inside its own box (the theme
// gives `div.math mjx-container` overflow: auto).  A box that scrolls must be reachable by
// keyboard, or a reader without a mouse cannot see the rest of the formula; the theme does
// this for code and outputs, not for formulas.  So, once MathJax has typeset the page, and
// again whenever the window is resized, every formula that overflows gets a tab stop (and
// loses it when it fits again).  An inline formula wider than its paragraph (on a phone) is
// first given a scrolling box of its own.
(function () {
  "use strict";

  function markScrollableFormulas() {
    document.querySelectorAll("mjx-container").forEach(function (box) {
      if (box.getAttribute("display") !== "true") {
        // An inline formula cannot break across lines: if it is wider than its paragraph,
        // it gets a box of its own that scrolls (site.css, .introdl-wide-formula).
        var block = box.parentElement && box.parentElement.closest("p, li, dd, td, div");
        box.classList.remove("introdl-wide-formula");
        if (!block || box.getBoundingClientRect().width <= block.clientWidth) {
          box.removeAttribute("tabindex");
          return;
        }
        box.classList.add("introdl-wide-formula");
      }
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
      } else {
        box.removeAttribute("tabindex");
      }
    });
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(markScrollableFormulas, 200);
  }

  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(markScrollableFormulas);
    }
    window.addEventListener("resize", later);
  }

  // MathJax is deferred as well; both have run by the time "load" fires.
  window.addEventListener("load", start);
})();
