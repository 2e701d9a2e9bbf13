"""crm.dashboards.deals.deal_figures against a fixture computed by hand.

Every deal is made the way the product makes it (a lead, qualified, converted, moved
through stages by the services) at a fixed clock, so each figure below can be checked
with a pencil. The range is March 2026 in Berlin (the manager's time zone):
[2026-02-28 23:00 UTC, 2026-03-31 22:00 UTC).

    deal  owner  lead created  converted   moves (UTC midnight unless said)        value   source
    D1    rep    Jan 1         Feb 1       Proposal Feb 11, Won Mar 11               1000 EUR  Web
    D2    rep    Feb 1         Feb 15      Won Mar 5                                  500 USD  Ref.
    D3    rep_b  Feb 20        Mar 1       Won Mar 21 (its lead moved teams later)   3000 EUR  Web
    D4    rep_b  Mar 9         Mar 10      Lost Mar 15 (No budget)                   2000 EUR  Web
    D5    rep    Mar 17        Mar 18      Lost Mar 20 (Too expensive)                100 EUR  —
    D6    rep    Mar 24        Mar 25      Won Apr 5 (after the range)                999 EUR  Web
    D7    rep_b  Feb 9         Feb 10      Lost Feb 20 (before the range)             700 EUR  Web
    D8    rep    Mar 30        Mar 31 10h  Lost Mar 31 22:30 = Apr 1 00:30 Berlin      80 EUR  Web
    X1    rep_c (other team)   Mar 1       Won Mar 10                                7777 EUR  Web
    open: O1 rep   Meeting set       1000 EUR  close May 10              weighted  200
          O2 rep_b Proposal (Mar 2)  2000 EUR  close May 20 (converted Jan 10)     1000
          O3 rep   Proposal (Apr 2)   400 USD  close Jun 3, probability 25%         100
          O4 rep   Negotiation        300 GBP  no close date                       225
          O5 rep_b Meeting set         50 EUR  no close date                        10
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role, Team, User
from crm.dashboards.deals import (
    CountRow,
    CurrencyCount,
    CurrencyMoney,
    DealFigures,
    MonthMoney,
    RateRow,
    Spread,
    StageMoney,
    StageSpread,
    deal_figures,
)
from deals import services
from deals.models import Deal, Stage
from leads.models import Lead, LostReason, Source
from tests.deals.helpers import ensure_stages, qualified_lead
from tests.factories import add_to_team, make_user

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 1, tzinfo=BERLIN)
END = datetime(2026, 4, 1, tzinfo=BERLIN)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
RANGE = {"closed_from": "2026-03-01", "closed_to": "2026-03-31"}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    manager: User
    rep: User
    rep_b: User
    idle_rep: User
    admin: User
    team: Team
    other_team: Team
    stages: dict[str, Stage]
    web: Source
    referral: Source
    no_budget: LostReason
    too_expensive: LostReason
    deals: dict[str, Deal] = field(default_factory=dict)


def _deal(
    w: World,
    name: str,
    owner: User,
    *,
    lead_at: datetime,
    converted_at: datetime,
    value: str,
    currency: str = "EUR",
    source: Source | None = None,
    close: date | None = None,
    moves: tuple[tuple[datetime, str], ...] = (),
) -> Deal:
    with time_machine.travel(lead_at, tick=False):
        lead = qualified_lead(owner, owner=owner, company=f"{name} Ltd", source=source)
    with time_machine.travel(converted_at, tick=False):
        deal = services.lead_convert(
            lead=lead,
            actor=owner,
            title=name,
            value=Decimal(value),
            currency=currency,
            stage=w.stages["Meeting set"],
            expected_close_date=close,
        )
    for when, stage in moves:
        reason = {"Lost:No budget": w.no_budget, "Lost:Too expensive": w.too_expensive}.get(stage)
        with time_machine.travel(when, tick=False):
            deal = services.deal_move_stage(
                deal=deal,
                actor=owner,
                stage=w.stages[stage.partition(":")[0]],
                lost_reason=reason,
            )
    w.deals[name] = deal
    return deal


@pytest.fixture
def world(
    team: Team, other_team: Team, rep: User, rep_b: User, manager: User, admin: User
) -> World:
    manager.timezone = "Europe/Berlin"
    manager.save(update_fields=["timezone"])
    w = World(
        manager=manager,
        rep=rep,
        rep_b=rep_b,
        idle_rep=add_to_team(team, make_user(email="idle@example.com", role=Role.REP)),
        admin=admin,
        team=team,
        other_team=other_team,
        stages=ensure_stages(),
        web=Source.objects.get_or_create(name="Web form")[0],
        referral=Source.objects.get_or_create(name="Referral")[0],
        no_budget=LostReason.objects.get_or_create(name="No budget")[0],
        too_expensive=LostReason.objects.get_or_create(name="Too expensive")[0],
    )
    rep_c = add_to_team(other_team, make_user(email="rep.c@example.com", role=Role.REP))
    _deal(w, "D1", rep, lead_at=at(1, 1), converted_at=at(2, 1), value="1000", source=w.web,
          moves=((at(2, 11), "Proposal sent"), (at(3, 11), "Won")))  # fmt: skip
    _deal(w, "D2", rep, lead_at=at(2, 1), converted_at=at(2, 15), value="500", currency="USD",
          source=w.referral, moves=((at(3, 5), "Won"),))  # fmt: skip
    _deal(w, "D3", rep_b, lead_at=at(2, 20), converted_at=at(3, 1), value="3000", source=w.web,
          moves=((at(3, 21), "Won"),))  # fmt: skip
    _deal(w, "D4", rep_b, lead_at=at(3, 9), converted_at=at(3, 10), value="2000", source=w.web,
          moves=((at(3, 15), "Lost:No budget"),))  # fmt: skip
    _deal(w, "D5", rep, lead_at=at(3, 17), converted_at=at(3, 18), value="100",
          moves=((at(3, 20), "Lost:Too expensive"),))  # fmt: skip
    _deal(w, "D6", rep, lead_at=at(3, 24), converted_at=at(3, 25), value="999", source=w.web,
          moves=((at(4, 5), "Won"),))  # fmt: skip
    _deal(w, "D7", rep_b, lead_at=at(2, 9), converted_at=at(2, 10), value="700", source=w.web,
          moves=((at(2, 20), "Lost:No budget"),))  # fmt: skip
    _deal(w, "D8", rep, lead_at=at(3, 30), converted_at=at(3, 31, 10), value="80", source=w.web,
          moves=((at(3, 31, 22, 30), "Lost:No budget"),))  # fmt: skip
    _deal(w, "X1", rep_c, lead_at=at(2, 1), converted_at=at(3, 1), value="7777", source=w.web,
          moves=((at(3, 10), "Won"),))  # fmt: skip
    _deal(w, "O1", rep, lead_at=at(3, 1), converted_at=at(3, 2), value="1000",
          close=date(2026, 5, 10))  # fmt: skip
    _deal(w, "O2", rep_b, lead_at=at(1, 5), converted_at=at(1, 10), value="2000",
          close=date(2026, 5, 20), moves=((at(3, 2), "Proposal sent"),))  # fmt: skip
    o3 = _deal(w, "O3", rep, lead_at=at(2, 25), converted_at=at(3, 1), value="400",
               currency="USD", close=date(2026, 6, 3),
               moves=((at(4, 2), "Proposal sent"),))  # fmt: skip
    with time_machine.travel(at(4, 3), tick=False):
        services.deal_update(deal=o3, actor=rep, expected_version=None, probability=25)
    _deal(w, "O4", rep, lead_at=at(1, 20), converted_at=at(2, 1), value="300", currency="GBP",
          moves=((at(2, 5), "Negotiation"),))  # fmt: skip
    _deal(w, "O5", rep_b, lead_at=at(3, 3), converted_at=at(3, 4), value="50")
    # D3's lead moved to the other team after it became a deal: the deal stays the team's.
    Lead.objects.filter(deal=w.deals["D3"]).update(team=other_team)
    return w


def figures(w: World, user: User | None = None, **narrow: Any) -> DealFigures:
    deals = Deal.objects.visible_to(user or w.manager).filter(**narrow)
    with time_machine.travel(NOW, tick=False):
        return deal_figures(deals, start=START, end=END)


def name(user: User) -> str:
    return str(user)


def test_closed_deals_win_rates_and_reasons(world: World) -> None:
    w = world
    got = figures(w)
    assert (got.won, got.lost) == (3, 2)
    assert got.win_rate == pytest.approx(0.6)
    assert got.win_rate_by_owner == [
        RateRow(w.rep.pk, name(w.rep), won=2, closed=3, rate=pytest.approx(2 / 3)),
        RateRow(w.rep_b.pk, name(w.rep_b), won=1, closed=2, rate=0.5),
    ]
    assert got.win_rate_by_source == [
        RateRow(w.web.pk, "Web form", won=2, closed=3, rate=pytest.approx(2 / 3)),
        RateRow(w.referral.pk, "Referral", won=1, closed=1, rate=1.0),
        RateRow(None, "No source", won=0, closed=1, rate=0.0),
    ]
    assert got.lost_reasons == [
        CountRow(w.no_budget.pk, "No budget", 1),
        CountRow(w.too_expensive.pk, "Too expensive", 1),
    ]
    assert got.deal_size == [
        CurrencyMoney("EUR", count=2, average=Decimal("2000.00"), total=Decimal("4000.00")),
        CurrencyMoney("USD", count=1, average=Decimal("500.00"), total=Decimal("500.00")),
    ]


def test_sales_cycle_and_time_in_stage(world: World) -> None:
    got = figures(world)
    # Lead created → won: D1 69 days, D2 32, D3 29.
    assert got.cycle == Spread(
        n=3,
        median=pytest.approx(32.0),
        p25=pytest.approx(30.5),
        p75=pytest.approx(50.5),
        p90=pytest.approx(61.6),
    )
    meeting, proposal = world.stages["Meeting set"], world.stages["Proposal sent"]
    # Left Meeting set in March: D2 after 18 days, D3 20, D4 5, D5 2, O2 51.
    assert got.stage_times == [
        StageSpread(meeting.pk, "Meeting set", n=5, median=18.0, p25=5.0, p75=20.0),
        StageSpread(proposal.pk, "Proposal sent", n=1, median=28.0, p25=28.0, p75=28.0),
    ]


def test_pipeline_forecast_and_undated_per_currency(world: World) -> None:
    s = {name: stage.pk for name, stage in world.stages.items()}
    got = figures(world)
    assert got.pipeline == [
        StageMoney(s["Meeting set"], "Meeting set", "EUR", 2, Decimal("1050"), Decimal("210")),
        StageMoney(s["Proposal sent"], "Proposal sent", "EUR", 1, Decimal("2000"), Decimal("1000")),
        StageMoney(s["Proposal sent"], "Proposal sent", "USD", 1, Decimal("400"), Decimal("100")),
        StageMoney(s["Negotiation"], "Negotiation", "GBP", 1, Decimal("300"), Decimal("225")),
    ]  # fmt: skip
    assert got.forecast == [
        MonthMoney(date(2026, 5, 1), "EUR", 2, Decimal("3000"), Decimal("1200")),
        MonthMoney(date(2026, 6, 1), "USD", 1, Decimal("400"), Decimal("100")),
    ]
    assert got.forecast_undated == [
        CurrencyCount("EUR", 1, Decimal("50")),
        CurrencyCount("GBP", 1, Decimal("300")),
    ]


def test_scope_a_rep_and_all(world: World) -> None:
    w = world
    mine = figures(w, user=w.rep)
    assert (mine.won, mine.lost) == (2, 1)
    assert [row.id for row in mine.win_rate_by_owner] == [w.rep.pk]
    assert mine.deal_size == [
        CurrencyMoney("EUR", 1, Decimal("1000.00"), Decimal("1000.00")),
        CurrencyMoney("USD", 1, Decimal("500.00"), Decimal("500.00")),
    ]
    everyone = figures(w, user=w.admin)
    assert (everyone.won, everyone.lost) == (4, 2)
    assert everyone.deal_size[0] == CurrencyMoney("EUR", 3, Decimal("3925.67"), Decimal("11777.00"))
    # The team narrowing follows the deal's team, not where its lead went later.
    team_only = figures(w, user=w.admin, team=w.team)
    assert (team_only.won, team_only.lost) == (3, 2)


def test_a_rep_with_no_deals_and_an_empty_range(world: World) -> None:
    idle = figures(world, owner=world.idle_rep)
    assert idle == DealFigures(
        won=0,
        lost=0,
        win_rate=None,
        win_rate_by_owner=[],
        win_rate_by_source=[],
        lost_reasons=[],
        cycle=None,
        stage_times=[],
        pipeline=[],
        forecast=[],
        forecast_undated=[],
        deal_size=[],
    )
    with time_machine.travel(NOW, tick=False):
        empty = deal_figures(
            Deal.objects.visible_to(world.manager),
            start=datetime(2025, 1, 1, tzinfo=UTC),
            end=datetime(2025, 2, 1, tzinfo=UTC),
        )
    assert (empty.won, empty.lost, empty.win_rate, empty.cycle) == (0, 0, None, None)
    assert empty.lost_reasons == empty.stage_times == empty.deal_size == []
    # Open deals are "now", whatever the range.
    assert len(empty.pipeline) == 4


def test_only_lost_deals_give_a_zero_rate_and_no_cycle(world: World) -> None:
    got = figures(world, owner=world.rep_b, stage__kind=Stage.Kind.LOST)
    assert (got.won, got.lost, got.win_rate, got.cycle) == (0, 1, 0.0, None)
    assert got.deal_size == []


def test_naive_range_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deal_figures(Deal.objects.all(), start=datetime(2026, 3, 1), end=END)  # noqa: DTZ001


def test_query_count_is_fixed(world: World, django_assert_max_num_queries: Any) -> None:
    deals = Deal.objects.visible_to(world.manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(6):
        deal_figures(deals, start=START, end=END)


# --- Every linked figure lands on a deal list with the same count ---------------------


def list_total(client: Any, user: User, **params: Any) -> int:
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("deals:list"), params)
    assert response.status_code == 200
    assert not response.context["filter"].errors, response.context["filter"].errors
    return int(response.context["total"])


def test_links_from_closed_figures_count_the_same(world: World, client: Any) -> None:
    w = world
    got = figures(w)
    m = w.manager
    assert list_total(client, m, state="won", **RANGE) == got.won == 3
    assert list_total(client, m, state="lost", **RANGE) == got.lost == 2
    assert list_total(client, m, state="closed", **RANGE) == got.won + got.lost
    for row in got.win_rate_by_owner:
        owner = row.id or "none"
        assert list_total(client, m, state="closed", owner=owner, **RANGE) == row.closed
        assert list_total(client, m, state="won", owner=owner, **RANGE) == row.won
    for row in got.win_rate_by_source:
        if row.id is not None:
            assert list_total(client, m, state="closed", source=row.id, **RANGE) == row.closed
            assert list_total(client, m, state="won", source=row.id, **RANGE) == row.won
    for reason in got.lost_reasons:
        assert list_total(client, m, state="lost", lost_reason=reason.id, **RANGE) == reason.count
    for size in got.deal_size:
        assert list_total(client, m, state="won", currency=size.currency, **RANGE) == size.count


def test_links_from_open_figures_count_the_same(world: World, client: Any) -> None:
    got = figures(world)
    m = world.manager
    for row in got.pipeline:
        params = {"state": "open", "stage": row.stage_id, "currency": row.currency}
        assert list_total(client, m, **params) == row.count
    for month in got.forecast:
        params = {"close_month": month.month.strftime("%Y-%m"), "currency": month.currency}
        assert list_total(client, m, state="open", **params) == month.count
    for undated in got.forecast_undated:
        params = {"no_close_date": "1", "currency": undated.currency}
        assert list_total(client, m, state="open", **params) == undated.count


def test_owner_none_lists_unowned_deals(world: World, client: Any) -> None:
    Deal.objects.filter(pk=world.deals["D5"].pk).update(owner=None, team=world.team)
    got = figures(world)
    unowned = [row for row in got.win_rate_by_owner if row.id is None]
    assert unowned == [RateRow(None, "No owner", won=0, closed=1, rate=0.0)]
    assert list_total(client, world.manager, state="closed", owner="none", **RANGE) == 1


def test_stage_history_keeps_when_the_left_stage_was_entered(world: World) -> None:
    rows = list(
        world.deals["D1"]
        .stage_changes.order_by("changed_at")
        .values_list("from_stage__name", "to_stage__name", "from_stage_entered_at")
    )
    assert rows == [
        (None, "Meeting set", None),
        ("Meeting set", "Proposal sent", at(2, 1)),
        ("Proposal sent", "Won", at(2, 11)),
    ]


def test_a_deactivated_reps_and_retired_sources_figures_still_link(
    world: World, client: Any
) -> None:
    w = world
    w.rep_b.is_active = False
    w.rep_b.save(update_fields=["is_active"])
    Source.objects.filter(pk=w.referral.pk).update(is_active=False)
    LostReason.objects.filter(pk=w.no_budget.pk).update(is_active=False)
    got = figures(w)
    rep_b = next(row for row in got.win_rate_by_owner if row.id == w.rep_b.pk)
    assert (rep_b.won, rep_b.closed) == (1, 2)
    m = w.manager
    assert list_total(client, m, state="closed", owner=w.rep_b.pk, **RANGE) == 2
    assert list_total(client, m, state="won", source=w.referral.pk, **RANGE) == 1
    assert list_total(client, m, state="lost", lost_reason=w.no_budget.pk, **RANGE) == 1


def test_time_in_stage_is_the_same_read_for_every_deal_or_for_some(world: World) -> None:
    """Every deal (no filter: one index range per stage) and the same deals named by a
    filter (a join to them) give the same spreads."""
    with time_machine.travel(NOW, tick=False):
        every = deal_figures(Deal.objects.all(), start=START, end=END).stage_times
        some = deal_figures(Deal.objects.filter(pk__gt=0), start=START, end=END).stage_times
    assert every == some
    # The manager's five stays in Meeting set, and the other team's one.
    assert [s.n for s in every] == [6, 1]
