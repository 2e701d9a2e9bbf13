"""The pipeline board: who sees which cards, column totals, the per-column cap, filters,
query count, and moving cards with the no-JavaScript form and the drag-and-drop request."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from deals import board as board_module
from deals import services
from deals.models import Deal, DealStageChange, Stage
from leads.models import LostReason
from tests.deals.conftest import MakeDeal

pytestmark = pytest.mark.django_db

BOARD = "/deals/board/"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def columns_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200
    return {column.stage.name: column for column in response.context["columns"]}


def titles(response: Any) -> set[str]:
    return {card.deal.title for column in response.context["columns"] for card in column.cards}


def test_the_board_has_its_url_and_a_tab_and_needs_a_login(rep: User) -> None:
    assert reverse("deals:board") == BOARD
    assert Client().get(BOARD).status_code == 302
    response = client_for(rep).get(reverse("deals:list"))
    assert f'href="{BOARD}"' in response.content.decode()


def test_one_column_per_active_stage_in_order(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    Stage.objects.create(name="Retired", position=9, probability=10, is_active=False)
    response = client_for(rep).get(BOARD)
    assert list(columns_of(response)) == [
        "Meeting set",
        "Proposal sent",
        "Negotiation",
        "Won",
        "Lost",
    ]
    html = response.content.decode()
    assert html.count("Closed in the last 90 days") == 2  # won and lost columns say so
    assert "<script src=" in html
    assert "js/board.js" in html


# --- Scoping: the same rule as leads --------------------------------------------------------

ACTORS = {"rep": True, "rep_b": False, "manager": True, "other_manager": False, "admin": True}


@pytest.mark.parametrize("actor", ACTORS)
def test_a_deal_is_on_the_board_only_for_those_who_see_it(
    request: pytest.FixtureRequest, actor: str, rep: User, make_deal: MakeDeal
) -> None:
    make_deal(rep, title="Rep A's deal")
    response = client_for(request.getfixturevalue(actor)).get(BOARD)
    assert ("Rep A's deal" in titles(response)) is ACTORS[actor]
    assert ("Rep A&#x27;s deal" in response.content.decode()) is ACTORS[actor]
    counts = {name: column.count for name, column in columns_of(response).items()}
    assert counts["Meeting set"] == (1 if ACTORS[actor] else 0)


def test_reps_see_only_their_own_deals(rep: User, rep_b: User, make_deal: MakeDeal) -> None:
    make_deal(rep, title="Mine")
    make_deal(rep_b, title="Theirs")
    assert titles(client_for(rep).get(BOARD)) == {"Mine"}
    assert titles(client_for(rep_b).get(BOARD)) == {"Theirs"}


# --- Columns ----------------------------------------------------------------------------------


def test_column_count_and_total_value(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal, reason: LostReason
) -> None:
    make_deal(rep, title="A", value="1000")
    make_deal(rep, title="B", value="2500.50")
    moved = make_deal(rep, title="C", value="400")
    won = make_deal(rep, title="D", value="300")
    lost = make_deal(rep, title="E", value="99")
    services.deal_move_stage(deal=moved, actor=rep, stage=stages["Proposal sent"])
    services.deal_move_stage(deal=won, actor=rep, stage=stages["Won"])
    services.deal_move_stage(deal=lost, actor=rep, stage=stages["Lost"], lost_reason=reason)

    columns = columns_of(client_for(rep).get(BOARD))
    summary = {
        name: (c.count, [t["total"] for t in c.totals], [card.deal.title for card in c.cards])
        for name, c in columns.items()
    }
    assert summary == {
        "Meeting set": (2, [Decimal("3500.50")], ["A", "B"]),
        "Proposal sent": (1, [Decimal("400")], ["C"]),
        "Negotiation": (0, [], []),
        "Won": (1, [Decimal("300")], ["D"]),
        "Lost": (1, [Decimal("99")], ["E"]),
    }
    assert columns["Meeting set"].totals[0]["weighted"] == Decimal("700.10")  # 20 % of 3,500.50


def test_column_header_shows_name_probability_count_and_total(
    rep: User, make_deal: MakeDeal
) -> None:
    make_deal(rep, title="A", value="1000")
    make_deal(rep, title="B", value="2500")
    html = client_for(rep).get(BOARD).content.decode()
    header = re.search(r'id="stage-\d+-heading">Meeting set</h2>(.*?)</header>', html, re.S)
    assert header is not None
    text = re.sub(r"\s+", " ", header.group(1))
    assert "20%" in text
    assert "2 deals" in text
    assert "3,500 USD" in text or "3,500 " in text


def test_won_and_lost_columns_show_only_the_last_90_days(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    recent = make_deal(rep, title="Won lately")
    old = make_deal(rep, title="Won long ago")
    for deal in (recent, old):
        services.deal_move_stage(deal=deal, actor=rep, stage=stages["Won"])
    Deal.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=91))
    columns = columns_of(client_for(rep).get(BOARD))
    assert [card.deal.title for card in columns["Won"].cards] == ["Won lately"]
    assert columns["Won"].count == 1


def test_cards_show_company_value_owner_close_date_and_overdue(
    rep: User, make_deal: MakeDeal
) -> None:
    deal = make_deal(rep, title="Big one", value="12345", company="Globex")
    Deal.objects.filter(pk=deal.pk).update(
        expected_close_date=timezone.localdate() + timedelta(days=10),
        next_action_due=timezone.now() - timedelta(hours=1),
    )
    other = make_deal(rep, title="On time")
    response = client_for(rep).get(BOARD)
    html = response.content.decode()
    card = re.search(rf'<li class="board-card[^>]*id="deal-{deal.pk}".*?</li>', html, re.S)
    assert card is not None
    text = card.group(0)
    assert f'href="/deals/{deal.pk}/"' in text
    assert "Globex" in text
    assert "12,345 USD" in text
    assert str(rep) in text
    assert (timezone.localdate() + timedelta(days=10)).strftime("%b") in text
    assert "Overdue" in text
    assert 'draggable="true"' in text
    assert f'data-version="{deal.version}"' in text
    other_card = re.search(rf'<li class="board-card[^>]*id="deal-{other.pk}".*?</li>', html, re.S)
    assert other_card is not None
    assert "Overdue" not in other_card.group(0)


def test_a_column_over_the_cap_links_to_the_rest(
    monkeypatch: pytest.MonkeyPatch, rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    monkeypatch.setattr(board_module, "CARDS_PER_COLUMN", 2)
    for n in range(5):
        make_deal(rep, title=f"Deal {n}")
    response = client_for(rep).get(BOARD + "?owner=me")
    column = columns_of(response)["Meeting set"]
    assert (column.count, len(column.cards), column.more) == (5, 2, 3)
    stage_id = stages["Meeting set"].pk
    assert f'<a href="/deals/?stage={stage_id}&amp;owner=me">+3 more</a>' in (
        response.content.decode()
    )
    assert columns_of(response)["Proposal sent"].more == 0
    assert response.content.decode().count("more</a>") == 1


# --- Filters ----------------------------------------------------------------------------------


def test_owner_filter(
    rep: User, rep_b: User, manager: User, other_manager: User, make_deal: MakeDeal
) -> None:
    make_deal(rep, title="A's")
    make_deal(rep_b, title="B's")
    make_deal(manager, title="Manager's")
    client = client_for(manager)
    assert titles(client.get(BOARD)) == {"A's", "B's", "Manager's"}
    assert titles(client.get(BOARD, {"owner": rep.pk})) == {"A's"}
    assert titles(client.get(BOARD, {"owner": "me"})) == {"Manager's"}
    # Nonsense or someone outside the user's scope: the filter is ignored, scoping still holds.
    assert titles(client.get(BOARD, {"owner": "nobody"})) == {"A's", "B's", "Manager's"}
    assert titles(client_for(other_manager).get(BOARD, {"owner": rep.pk})) == set()
    assert titles(client_for(rep).get(BOARD, {"owner": "me"})) == {"A's"}


def test_team_filter(rep: User, admin: User, other_manager: User, make_deal: MakeDeal) -> None:
    make_deal(rep, title="North deal")
    make_deal(other_manager, title="South deal")
    client = client_for(admin)
    assert titles(client.get(BOARD)) == {"North deal", "South deal"}
    team_id = Deal.objects.get(title="North deal").team_id
    assert team_id is not None
    response = client.get(BOARD, {"team": team_id})
    assert titles(response) == {"North deal"}
    assert f'<option value="{team_id}" selected>' in response.content.decode()


# --- Query count: constant in the number of cards ----------------------------------------------


@pytest.mark.parametrize("actor", ["rep", "manager"])
def test_board_query_count_does_not_grow_with_the_cards(
    request: pytest.FixtureRequest,
    actor: str,
    rep: User,
    manager: User,
    stages: dict[str, Stage],
    make_deal: MakeDeal,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(request.getfixturevalue(actor))
    client.get(BOARD)  # warm up (session, content types)
    counts = []
    for total in (3, 40):
        while Deal.objects.count() < total:
            deal = make_deal(rep, title=f"Deal {Deal.objects.count()}")
            if deal.pk % 3 == 0:
                services.deal_move_stage(deal=deal, actor=rep, stage=stages["Proposal sent"])
        with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
            response = client.get(BOARD)
        assert response.status_code == 200
        assert sum(column.count for column in response.context["columns"]) == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_forty_deals_in_one_column_show_thirty_and_a_link(
    rep: User, make_deal: MakeDeal, django_assert_max_num_queries: Any
) -> None:
    for n in range(40):
        make_deal(rep, title=f"Deal {n}")
    client = client_for(rep)
    with django_assert_max_num_queries(10):
        response = client.get(BOARD)
    column = columns_of(response)["Meeting set"]
    assert (column.count, len(column.cards), column.more) == (40, 30, 10)
    assert ">+10 more</a>" in response.content.decode()


# --- Moving cards -------------------------------------------------------------------------------


def test_the_no_js_form_moves_a_card_and_comes_back_to_the_board(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    deal = make_deal(rep, title="Move me")
    client = client_for(rep)
    html = client.get(BOARD + "?owner=me").content.decode()
    form = re.search(rf'<form method="post" action="/deals/{deal.pk}/stage/".*?</form>', html, re.S)
    assert form is not None
    # Back to the board, at the card (which then has focus again: board.js).
    assert f'name="next" value="/deals/board/?owner=me#deal-{deal.pk}"' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert f'<option value="{stages["Proposal sent"].pk}">Proposal sent</option>' in form.group(0)
    assert ">Meeting set</option>" not in form.group(0)  # where it already is
    assert 'name="reason"' in form.group(0)

    response = client.post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stages["Proposal sent"].pk, "version": deal.version, "next": BOARD + "?owner=me"},
    )
    assert response.status_code == 302
    assert response["Location"] == BOARD + "?owner=me"
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal sent"]
    change = DealStageChange.objects.filter(deal=deal).order_by("changed_at", "id").last()
    assert change is not None
    assert (change.from_stage, change.to_stage, change.actor) == (
        stages["Meeting set"],
        stages["Proposal sent"],
        rep,
    )
    columns = columns_of(client.get(BOARD + "?owner=me"))
    assert [card.deal.title for card in columns["Proposal sent"].cards] == ["Move me"]
    assert columns["Meeting set"].cards == []


def test_the_no_js_form_marks_a_deal_lost_with_a_reason(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal, reason: LostReason
) -> None:
    deal = make_deal(rep, title="Goner")
    response = client_for(rep).post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stages["Lost"].pk, "reason": reason.pk, "version": deal.version, "next": BOARD},
    )
    assert response.status_code == 302
    assert response["Location"] == BOARD
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (stages["Lost"], reason)
    assert deal.closed_at is not None


def test_dragging_to_lost_without_a_reason_is_refused_with_the_reason(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    deal = make_deal(rep, title="Not lost")
    response = client_for(rep).post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stages["Lost"].pk, "version": deal.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == services.LOST_NEEDS_REASON
    deal.refresh_from_db()
    assert deal.stage == stages["Meeting set"]


def test_dragging_with_htmx_header_moves_with_204(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    deal = make_deal(rep, title="Dragged")
    client = client_for(rep)
    url = reverse("deals:stage", args=[deal.pk])
    headers = {"HX-Request": "true"}
    ok = client.post(url, {"stage": stages["Won"].pk, "version": deal.version}, headers=headers)
    assert ok.status_code == 204
    deal.refresh_from_db()
    assert deal.stage == stages["Won"]
    assert deal.closed_at is not None
    # The card's data-version was stale: a conflict, with the reason as text.
    stale = client.post(url, {"stage": stages["Negotiation"].pk, "version": 1}, headers=headers)
    assert stale.status_code == 409
    assert services.DEAL_CONFLICT in stale.content.decode()


def test_cards_the_user_cannot_move_have_no_form_and_do_not_drag(
    rep: User, stages: dict[str, Stage], make_deal: MakeDeal
) -> None:
    deal = make_deal(rep, title="Won already")
    services.deal_move_stage(deal=deal, actor=rep, stage=stages["Won"])
    html = client_for(rep).get(BOARD).content.decode()  # a rep cannot reopen a won deal
    card = re.search(rf'<li class="board-card[^>]*id="deal-{deal.pk}".*?</li>', html, re.S)
    assert card is not None
    assert 'draggable="true"' not in card.group(0)
    assert "<form" not in card.group(0)
