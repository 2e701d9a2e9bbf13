// Focus and announcements for keyboard and screen-reader users, written once for every
// page (WCAG 2.4.3 focus order, 4.1.3 status messages):
// - a form's error summary takes focus when the page or a swapped part of it shows one,
//   and its links move focus to the field they name;
// - after a full-page post, focus goes to the confirmation at the top of the content;
// - when htmx replaces the part of the page that held focus, focus goes to the same
//   control in the new content (same id, link, button or menu) or to its first field in
//   error, else to the region's heading or its first control — never back to <body>;
// - text marked data-announce in swapped content (result counts, confirmations, errors)
//   is copied into the page's persistent live regions (#live-status, #live-alert), whose
//   text changes in place, so screen readers read it.
(function () {
  "use strict";

  var ACTIONABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), " +
    "select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

  function focusTo(element) {
    if (!element) {
      return false;
    }
    if (!element.matches(ACTIONABLE) && !element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  // Rendered and reachable: not display:none, not visibility:hidden, not in a closed <details>.
  function visible(element) {
    if (element.checkVisibility) {
      return element.checkVisibility({ visibilityProperty: true });
    }
    return element.getClientRects().length > 0;
  }

  function errorSummary(root) {
    return root.querySelector("[data-error-summary]");
  }

  function words(element) {
    return (element.textContent || "").trim().replace(/\s+/g, " ");
  }

  // What the focused control is, in terms that survive its replacement by new HTML.
  function describe(element) {
    if (!element || element === document.body) {
      return null;
    }
    var form = element.form || element.closest("form");
    var details = element.closest("details");
    var summary = details ? details.querySelector("summary") : null;
    return {
      id: element.id,
      tag: element.tagName,
      href: element.getAttribute("href"),
      action: form ? form.getAttribute("action") : null,
      name: element.getAttribute("name"),
      value: element.getAttribute("value"),
      text: words(element),
      // A control inside a closed-again <details> (Reschedule's "+1 day"): its summary.
      summary: summary && summary !== element ? words(summary) : null
    };
  }

  function sameControl(region, was) {
    if (!was) {
      return null;
    }
    if (was.id) {
      var byId = document.getElementById(was.id);
      if (byId && region.contains(byId)) {
        return byId;
      }
    }
    var candidates = region.querySelectorAll(was.tag.toLowerCase());
    for (var i = 0; i < candidates.length; i++) {
      var candidate = candidates[i];
      var now = describe(candidate);
      if (!visible(candidate)) {
        continue;
      }
      if (was.href !== null && now.href === was.href) {
        return candidate;
      }
      if (was.href === null && now.action === was.action && now.name === was.name &&
          now.value === was.value && now.text === was.text) {
        return candidate;
      }
    }
    if (was.summary) {
      var summaries = region.querySelectorAll("summary");
      for (var j = 0; j < summaries.length; j++) {
        if (visible(summaries[j]) && words(summaries[j]) === was.summary) {
          return summaries[j];
        }
      }
    }
    return null;
  }

  function firstOf(region, selector) {
    var found = region.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) {
      if (visible(found[i])) {
        return found[i];
      }
    }
    return null;
  }

  var announceTimer = null;
  // onlyChanges: for updates nobody asked for (polling, a count that loads by itself),
  // which are read only when their words change.
  function announce(root, onlyChanges) {
    var parts = { status: [], alert: [] };
    var marked = root.matches && root.matches("[data-announce]") ? [root] : [];
    marked = marked.concat(Array.prototype.slice.call(root.querySelectorAll("[data-announce]")));
    marked.forEach(function (element) {
      var kind = element.getAttribute("data-announce") === "alert" ? "alert" : "status";
      parts[kind].push(words(element));
    });
    ["status", "alert"].forEach(function (kind) {
      var region = document.getElementById("live-" + kind);
      if (region && onlyChanges && region.textContent === parts[kind].join(" ")) {
        parts[kind] = [];
      }
      // Emptied first and filled a moment later, so the same words twice are read twice.
      if (region && parts[kind].length) {
        region.textContent = "";
      }
    });
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(function () {
      ["status", "alert"].forEach(function (kind) {
        var region = document.getElementById("live-" + kind);
        if (region && parts[kind].length) {
          region.textContent = parts[kind].join(" ");
        }
      });
    }, 100);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (focusTo(errorSummary(document))) {
      return;
    }
    var message = document.querySelector("#main .messages");
    // Sent back to one element (the board's moved card): focus it, and read the message.
    var target = window.location.hash.length > 1 ?
      document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
    if (target && target.closest("#main") && focusTo(target)) {
      if (message) {
        announce(message);
      }
      return;
    }
    if (message) {
      focusTo(message);
    }
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

  var pending = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    pending = {
      targetId: target ? target.id : "",
      active: active,
      was: describe(active),
      // A click, a key, a submit; not htmx's own "load" or "every 1s" triggers.
      byUser: Boolean(trigger && trigger.isTrusted)
    };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var state = pending;
    pending = null;
    if (!state) {
      return;
    }
    var region = (state.targetId && document.getElementById(state.targetId)) || event.detail.elt;
    if (!region || !region.isConnected) {
      return;
    }
    announce(region, !state.byUser);
    var summary = errorSummary(region);
    if (summary && state.byUser) {
      focusTo(summary);
      return;
    }
    // Focus was in what got replaced (a user's click, or a polled region being worked in).
    var focusLost = state.active && state.active !== document.body && !state.active.isConnected;
    if (state.byUser && document.activeElement === document.body) {
      focusLost = true;
    }
    if (!focusLost) {
      return;
    }
    var choices = [
      state.byUser ? firstOf(region, ".is-invalid, [aria-invalid=true]") : null,
      sameControl(region, state.was),
      firstOf(region, "[data-focus-after-swap]"),
      firstOf(region, "h1, h2, h3, h4, h5, h6"),
      firstOf(region, ACTIONABLE),
      region
    ];
    for (var i = 0; i < choices.length; i++) {
      if (focusTo(choices[i])) {
        return;
      }
    }
  });
})();
