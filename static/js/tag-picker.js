// Tag picker: a search box above the tag checkboxes that hides the ones that don't match,
// and Enter in it adds the typed name to "New tags" (where creating tags is allowed).
// Without this script the checkboxes and the "New tags" field work as they are.
(function () {
  "use strict";
  document.querySelectorAll("[data-tag-picker]").forEach(function (picker, index) {
    var options = Array.prototype.slice.call(picker.querySelectorAll(".form-check"));
    if (!options.length) return;
    var list = options[0].parentElement;
    list.classList.add("tag-picker-options");
    var newTags = picker.querySelector("input[name='new_tags']");
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control form-control-sm mb-1";
    search.id = "tag-search-" + index;
    search.placeholder = newTags ? "Find or add a tag" : "Find a tag";
    search.setAttribute("aria-label", search.placeholder);
    search.setAttribute("aria-controls", list.id || "");
    var status = document.createElement("div");
    status.className = "form-text";
    status.setAttribute("aria-live", "polite");
    list.parentElement.insertBefore(search, list);
    list.parentElement.insertBefore(status, list.nextSibling);

    function filter() {
      var term = search.value.trim().toLowerCase();
      var shown = 0;
      options.forEach(function (option) {
        var match = option.textContent.trim().toLowerCase().indexOf(term) !== -1;
        option.hidden = !match;
        if (match) shown += 1;
      });
      status.textContent = term
        ? shown + " matching tag" + (shown === 1 ? "" : "s") +
          (newTags && !shown ? ": press Enter to add “" + search.value.trim() + "”" : "")
        : "";
    }

    search.addEventListener("input", filter);
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault(); // never submit the whole form from the search box
      var term = search.value.trim();
      if (!term) return;
      var exact = options.filter(function (option) {
        return option.textContent.trim().toLowerCase() === term.toLowerCase();
      })[0];
      if (exact) {
        exact.querySelector("input").checked = true;
      } else if (newTags) {
        var names = newTags.value.split(",").map(function (n) { return n.trim(); }).filter(Boolean);
        names.push(term);
        newTags.value = names.join(", ");
      } else {
        return;
      }
      search.value = "";
      filter();
      status.textContent = exact ? "Ticked “" + term + "”." : "“" + term + "” will be created when you save.";
    });
  });
})();
