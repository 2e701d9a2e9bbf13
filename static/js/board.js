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
})();
