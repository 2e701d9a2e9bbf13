from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.safestring import mark_safe

from crm.templatetags.crm_tags import select

register = template.Library()


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _amount(value: Any) -> str:
    return f"{value:,.0f}"


@register.simple_tag(takes_context=True)
def board_cards(
    context: template.Context,
    cards: Iterable[Any],
    deals_url: str,
    here: str,
    reason_choices: list[tuple[Any, str]],
    has_lost_stage: bool,
) -> str:
    """A column's cards, rendered in Python: the template engine's per-variable cost for
    150 cards was most of the board's time (benchmark_leads). Database values go through
    ``_esc``; the selects through the ``select`` tag, which escapes too."""
    csrf = _esc(get_token(context["request"]))
    reasons = select("reason", reason_choices) if has_lost_stage else ""
    out = []
    for card in cards:
        deal = card.deal
        pk = deal.pk
        title = _esc(deal.title)
        if deal.stage.kind != "open":
            closed = timezone.localtime(deal.closed_at) if deal.closed_at else None
            closing = f"Closed {closed:%b} {closed.day}" if closed else "Closed"
        elif deal.expected_close_date:
            day = deal.expected_close_date
            closing = f"Closes {day:%b} {day.day}, {day.year}"
        else:
            closing = "No close date"
        move = ""
        if card.can_move:
            reason_part = ""
            if has_lost_stage and deal.stage.kind != "lost":
                reason_part = (
                    f'<label class="visually-hidden" for="move-reason-{pk}">Lost reason for '
                    f"{title} (only when moving to Lost)</label>"
                    + str(reasons).replace('id="id_reason"', f'id="move-reason-{pk}"', 1)
                )
            move = (
                '<details class="board-move mt-1"><summary class="text-body-secondary">Move'
                f'<span class="visually-hidden"> {title}</span></summary>'
                f'<form method="post" action="{deals_url}{pk}/stage/" '
                'class="d-flex flex-column gap-1 mt-1">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                # Back to this card: the page comes back with focus on it (board.js).
                f'<input type="hidden" name="next" value="{_esc(here)}#deal-{pk}">'
                f'<input type="hidden" name="version" value="{deal.version}">'
                f'<label class="visually-hidden" for="move-stage-{pk}">Stage for {title}</label>'
                f"{select('stage', card.move_choices, id=f'move-stage-{pk}')}"
                f"{reason_part}"
                '<button type="submit" class="btn btn-sm btn-outline-primary">Move</button>'
                "</form></details>"
            )
        company = (
            f'<div class="text-body-secondary text-truncate">{_esc(deal.company)}</div>'
            if deal.company_id
            else ""
        )
        overdue = '<span class="badge text-bg-danger">Overdue</span>' if card.overdue else ""
        owner = _esc(deal.owner) if deal.owner_id else "Unassigned"
        draggable = ' draggable="true"' if card.can_move else ""
        out.append(
            f'<li class="board-card card mb-2" id="deal-{pk}" data-deal-id="{pk}" '
            f'data-version="{deal.version}" data-stage-id="{deal.stage_id}" '
            f'data-move-url="{deals_url}{pk}/stage/"'
            f"{draggable}>"
            '<div class="card-body p-2 small">'
            f'<a href="{deals_url}{pk}/" class="fw-semibold d-block text-break" '
            f'draggable="false">{title}</a>{company}'
            '<div class="d-flex flex-wrap gap-1 align-items-center mt-1">'
            f'<span class="fw-semibold me-auto">{_amount(deal.value)} {_esc(deal.currency)}'
            f"</span>{overdue}</div>"
            f'<div class="text-body-secondary text-truncate">{owner}</div>'
            f'<div class="text-body-secondary">{closing}</div>{move}</div></li>'
        )
    return mark_safe("\n".join(out))  # noqa: S308  (database values escaped by _esc)
