// Focus for keyboard and screen-reader users (WCAG 2.4.3): a form's error summary takes
// focus when the page shows one, and its links move focus to the field they name.
(function () {
  "use strict";

  function focusTo(element) {
    if (!element) {
      return false;
    }
    element.focus();
    return document.activeElement === element;
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusTo(document.querySelector("[data-error-summary]"));
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-error-summary] a[href^='#']") : null;
    if (!link) {
      return;
    }
    var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (field) {
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      focusTo(field);
    }
  });
})();
