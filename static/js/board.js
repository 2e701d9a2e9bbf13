// Pipeline board: drag a card to another column to move the deal to that stage.
// Posts to the same view as the card's own form (which works without this script); the
// view answers 204 to requests marked HX-Request, or 400/409 with the reason as text.
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) {
    return;
  }
  var alertBox = document.getElementById("board-alert");
  var dragged = null;

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function showError(text) {
    alertBox.textContent = text;
    alertBox.classList.remove("d-none");
  }

  function clearHighlights() {
    board.querySelectorAll(".board-drop-target").forEach(function (column) {
      column.classList.remove("board-drop-target");
    });
  }

  function targetColumn(event) {
    var column = event.target.closest ? event.target.closest(".board-column") : null;
    if (!column || !dragged || column.dataset.stageId === dragged.dataset.stageId) {
      return null;
    }
    return column;
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[draggable=true]") : null;
    if (!card) {
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.dealId);
    card.classList.add("board-dragging");
  });

  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("board-dragging");
    }
    dragged = null;
    clearHighlights();
  });

  board.addEventListener("dragover", function (event) {
    var column = targetColumn(event);
    if (!column) {
      return;
    }
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("board-drop-target")) {
      clearHighlights();
      column.classList.add("board-drop-target");
    }
  });

  board.addEventListener("dragleave", function (event) {
    var column = event.target.closest ? event.target.closest(".board-column") : null;
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("board-drop-target");
    }
  });

  board.addEventListener("drop", function (event) {
    var column = targetColumn(event);
    var card = dragged;
    clearHighlights();
    if (!column || !card) {
      return;
    }
    event.preventDefault();
    if (column.dataset.stageKind === "lost") {
      // Lost needs a reason: the card's form asks for one.
      showError(board.dataset.lostMessage);
      var details = card.querySelector("details");
      if (details) {
        details.open = true;
        var select = details.querySelector("select[name=stage]");
        var option = select && select.querySelector('option[value="' + column.dataset.stageId + '"]');
        if (option) {
          select.value = column.dataset.stageId;
        }
        var reason = details.querySelector("select[name=reason]");
        (reason || select || details).focus();
      }
      return;
    }
    var body = new FormData();
    body.append("stage", column.dataset.stageId);
    body.append("version", card.dataset.version);
    card.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
      body: body,
    })
      .then(function (response) {
        if (response.status === 204) {
          // Back with focus on the moved card (see the keyboard part below).
          window.location.hash = card.id;
          window.location.reload();
          return null;
        }
        var isText = (response.headers.get("Content-Type") || "").indexOf("text/plain") === 0;
        return response.text().then(function (text) {
          card.removeAttribute("aria-busy");
          // Anything but the view's plain-text reason (a login page, a server error page)
          // is not worth showing as it is.
          showError(
            isText && text
              ? text
              : "The deal could not be moved (error " + response.status + "). Reload the page and try again."
          );
        });
      })
      .catch(function () {
        card.removeAttribute("aria-busy");
        showError("The deal could not be moved: the server did not answer. Try again.");
      });
  });
  // Keyboard: each column is one tab stop (roving tabindex, WAI-ARIA APG): Tab reaches
  // the column's current card, then its own link and Move control, then the next column;
  // the arrow keys go to the card above or below, and to the nearest card of the column
  // left or right; Home and End go to a column's first and last card. After a move, the
  // page comes back with the card's id as its fragment and that card has focus again.
  var INNER = "a[href], summary";

  function cards(column) {
    return Array.prototype.slice.call(column.querySelectorAll(".board-card"));
  }

  function columns() {
    return Array.prototype.slice.call(board.querySelectorAll(".board-column")).filter(function (column) {
      return cards(column).length > 0;
    });
  }

  function setCurrent(card) {
    card.closest(".board-column").querySelectorAll(".board-card").forEach(function (other) {
      var current = other === card;
      other.setAttribute("tabindex", current ? "0" : "-1");
      other.querySelectorAll(INNER).forEach(function (control) {
        if (current) {
          control.removeAttribute("tabindex");
        } else {
          control.setAttribute("tabindex", "-1");
        }
      });
    });
  }

  function goTo(card) {
    if (card) {
      setCurrent(card);
      card.focus();
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  board.querySelectorAll(".board-card").forEach(function (card) {
    var title = card.querySelector("a[href]");
    var column = card.closest(".board-column");
    var heading = column ? column.querySelector("h2") : null;
    // Read as the deal's title and its column when it gets focus.
    card.setAttribute("aria-label", (title ? title.textContent.trim() : "Deal") +
      (heading ? ", in " + heading.textContent.trim() : ""));
  });
  var keysHelp = document.createElement("p");
  keysHelp.className = "small text-body-secondary mb-2";
  keysHelp.id = "board-keys";
  keysHelp.textContent = "Keyboard: arrow keys go between cards and columns; Tab reaches a card's link and Move control; Enter opens the deal.";
  board.parentNode.insertBefore(keysHelp, board);
  board.querySelectorAll(".board-card").forEach(function (card) {
    card.setAttribute("aria-describedby", "board-keys");
  });

  var fromHash = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
  columns().forEach(function (column) {
    setCurrent(fromHash && column.contains(fromHash) && fromHash.classList.contains("board-card") ?
      fromHash : cards(column)[0]);
  });

  board.addEventListener("focusin", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card") : null;
    if (card && card.getAttribute("tabindex") !== "0") {
      setCurrent(card);
    }
  });

  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("board-card") || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var column = card.closest(".board-column");
    var inColumn = cards(column);
    var index = inColumn.indexOf(card);
    var all = columns();
    var at = all.indexOf(column);
    var next = null;
    if (event.key === "ArrowDown") {
      next = inColumn[index + 1];
    } else if (event.key === "ArrowUp") {
      next = inColumn[index - 1];
    } else if (event.key === "Home") {
      next = inColumn[0];
    } else if (event.key === "End") {
      next = inColumn[inColumn.length - 1];
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      var other = all[at + (event.key === "ArrowRight" ? 1 : -1)];
      if (other) {
        var there = cards(other);
        next = there[Math.min(index, there.length - 1)];
      }
    } else if (event.key === "Enter") {
      var link = card.querySelector("a[href]");
      if (link) {
        link.click();
      }
      event.preventDefault();
      return;
    } else {
      return;
    }
    event.preventDefault();
    goTo(next);
  });
})();
