"""The pipeline board: one column per active stage, cards moved by drag and drop (or, without
JavaScript, by each card's own small form, which posts to the same stage view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import User
from crm.validators import parse_id
from deals.models import Deal, Stage
from deals.selectors import stage_totals
from leads.selectors import Choices, choices_for
from leads.services import can_reopen, can_work_on

CARDS_PER_COLUMN = 30
CLOSED_WINDOW_DAYS = 90


@dataclass
class Card:
    deal: Deal
    can_move: bool
    overdue: bool
    move_choices: list[tuple[int, str]] = field(default_factory=list)

    @property
    def stage_field_id(self) -> str:
        return f"move-stage-{self.deal.pk}"

    @property
    def reason_field_id(self) -> str:
        return f"move-reason-{self.deal.pk}"


@dataclass
class Column:
    stage: Stage
    count: int = 0
    totals: list[dict[str, Any]] = field(default_factory=list)  # one per currency
    cards: list[Card] = field(default_factory=list)
    more_url: str = ""

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


def _filters(
    request: HttpRequest, user: User, choices: Choices, deals: Any
) -> tuple[Any, dict[str, str]]:
    """Apply the owner and team filters the user may use; returns the deals and the filters
    kept (for the form and for the "+N more" links). Unknown values are ignored."""
    kept: dict[str, str] = {}
    owner = request.GET.get("owner", "")
    if owner == "me":
        deals = deals.filter(owner=user)
        kept["owner"] = "me"
    elif (owner_id := parse_id(owner)) is not None and owner_id in {pk for pk, _ in choices.owners}:
        deals = deals.filter(owner_id=owner_id)
        kept["owner"] = str(owner_id)
    team_id = parse_id(request.GET.get("team", ""))
    if team_id is not None and team_id in {pk for pk, _ in choices.teams}:
        deals = deals.filter(team_id=team_id)
        kept["team"] = str(team_id)
    return deals, kept


def _first_cards(deals: Any, stages: list[Stage], since: Any) -> list[Deal]:
    """The first cards of every column: one UNION ALL of per-stage LIMIT queries (each an
    index range scan), then the cards themselves in one query. Open columns by close date,
    closed columns by most recently closed."""
    per_stage = []
    for stage in stages:
        if stage.is_closed:
            column = deals.filter(stage=stage, closed_at__gte=since).order_by(
                F("closed_at").desc(), "id"
            )
        else:
            column = deals.filter(stage=stage, closed_at__isnull=True).order_by(
                F("expected_close_date").asc(nulls_last=True), "id"
            )
        per_stage.append(column.values_list("id", flat=True)[:CARDS_PER_COLUMN])
    if not per_stage:
        return []
    ids = list(per_stage[0].union(*per_stage[1:], all=True))
    cards = list(Deal.objects.filter(pk__in=ids).select_related("owner", "company", "stage"))
    far = date.max

    def key(deal: Deal) -> tuple[Any, ...]:
        if deal.stage.is_closed:
            return (deal.stage_id, -(deal.closed_at or now()).timestamp(), deal.pk)
        return (deal.stage_id, deal.expected_close_date or far, deal.pk)

    return sorted(cards, key=key)


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    choices = choices_for(user)
    deals, kept = _filters(request, user, choices, Deal.objects.visible_to(user))
    stages = list(Stage.objects.filter(is_active=True))
    # Won and lost columns would grow forever: they show what closed recently.
    since = now() - timedelta(days=CLOSED_WINDOW_DAYS)
    # Open deals have no closed_at (deal_move_stage keeps it so); the two halves of the
    # board are summed separately so each uses its own index.
    totals = stage_totals(
        deals.filter(closed_at__isnull=True, stage__is_active=True),
        deals.filter(closed_at__gte=since, stage__is_active=True),
    )
    cards = _first_cards(deals, stages, since)
    columns = {stage.pk: Column(stage=stage) for stage in stages}
    for stage_id, row in totals.items():
        column = columns.get(stage_id)
        if column is not None:
            column.count = row["count"]
            column.totals = row["totals"]
    reopen = can_reopen(user)
    moment = now()
    # Each card's "move to" choices: every other stage (computed once per stage).
    elsewhere = {
        stage.pk: [(other.pk, other.name) for other in stages if other.pk != stage.pk]
        for stage in stages
    }
    for deal in cards:
        columns[deal.stage_id].cards.append(
            Card(
                deal=deal,
                move_choices=elsewhere[deal.stage_id],
                can_move=can_work_on(user, deal) and (deal.is_open or reopen),
                overdue=deal.is_open
                and deal.next_action_due is not None
                and deal.next_action_due < moment,
            )
        )
    list_url = reverse("deals:list")
    for column in columns.values():
        column.more_url = f"{list_url}?{urlencode({'stage': column.stage.pk, **kept})}"
    lost_stages = [stage for stage in stages if stage.kind == Stage.Kind.LOST]
    context = {
        "deals_url": reverse("deals:list"),
        "columns": list(columns.values()),
        "stages": stages,
        "has_lost_stage": bool(lost_stages),
        "closed_days": CLOSED_WINDOW_DAYS,
        "per_column": CARDS_PER_COLUMN,
        "currency": settings.DEFAULT_CURRENCY,
        "owner_choices": [
            ("", "Anyone"),
            ("me", "Me"),
            *[(str(pk), label) for pk, label in choices.owners if pk != user.pk],
        ],
        "team_choices": [("", "Any team"), *[(str(pk), label) for pk, label in choices.teams]],
        "reason_choices": [("", "Reason, if Lost"), *choices.lost_reasons],
        "filters": kept,
        "here": request.get_full_path(),
    }
    return render(request, "deals/board.html", context)
