"""seed_demo at any time of day: the demo's choices (people, companies, emails, stories,
deals, tasks) never depend on the clock, only its timestamps do, and every demo email is
a valid ASCII address.

It used to fail at some clocks (2026-12-01 19:44:20 UTC among them): which phone-only
persona reached a repeat account depended on the order the clock put the conversions in,
and that branch made ``lucía@kestrel-legal.example``. The plans are checked at every hour
of a day in several time zones (cheap: nothing is written); the whole command at a few
fixed clocks, the reported one first."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from accounts import demo as demo_users
from accounts.models import User
from deals import demo as demo_deals
from leads import demo as demo_leads
from leads.demo import Cast
from tests.crm.test_seed_demo import _valid

pytestmark = pytest.mark.django_db

# None: the demo team's own time zones (London, Berlin, New York, Chicago).
ZONES = [None, "Asia/Kolkata", "Pacific/Auckland"]


def clocks() -> Iterator[tuple[str | None, datetime]]:
    """Every hour of 1 December 2026, as the local day runs in each zone."""
    for zone in ZONES:
        tz = zoneinfo.ZoneInfo(zone or "UTC")
        for hour in range(24):
            yield zone, datetime(2026, 12, 1, hour, 44, 20, tzinfo=tz)


@pytest.fixture
def demo_team() -> dict[str, User]:
    return {user.email.split("@")[0]: user for user in demo_users.seed_users(password="x")}


def _cast(demo_team: dict[str, User], zone: str | None) -> Cast:
    """The demo team, all in ``zone`` (in memory: the plans read the time zone from here),
    or each in their own."""
    own = {demo.email: demo.timezone for demo in demo_users.DEMO_USERS}
    for user in demo_team.values():
        user.timezone = zone or own[user.email]
    return Cast(
        admin=demo_team["admin"],
        manager=demo_team["manager"],
        rep1=demo_team["rep1"],
        rep2=demo_team["rep2"],
    )


def _lead_plans(cast: Cast, current: datetime) -> tuple[list[Any], object]:
    specs, teller = demo_leads.storyteller(cast)
    plans = [teller.plan(spec, current) for spec in specs]
    timeless = [
        (
            astuple(plan.spec.who),
            plan.spec.owner,
            plan.spec.status,
            plan.spec.source,
            plan.creator.email,
            plan.given_to.email if plan.given_to else None,
            [tag.name for tag in plan.tags],
            {key: value for key, value in plan.data.items() if key != "consent_at"},
            len(plan.steps),
        )
        for plan in plans
    ]
    return timeless, teller.rng.getstate()  # every choice drawn the same way


def _deal_plans(cast: Cast, current: datetime) -> tuple[list[Any], object]:
    maker = demo_deals.deal_maker(cast, current)
    specs = maker.plan()
    timeless = [
        (
            spec.owner,
            spec.outcome,
            spec.path,
            spec.lead.pk if spec.lead else None,
            astuple(spec.persona) if spec.persona else None,
            spec.account.name if spec.account else None,
            spec.title,
            spec.value,
            [kind for kind, _ in spec.steps],
            {key: value for key, value in spec.words.items() if key != "close"},
            {key: value for key, value in spec.lead_data.items() if key != "next_action_due"},
        )
        for spec in specs
    ]
    return timeless, maker.rng.getstate()


def test_the_lead_plans_are_the_same_at_every_hour_in_every_zone(
    demo_team: dict[str, User],
) -> None:
    demo_leads._ensure_choices()
    first: tuple[list[Any], object] | None = None
    for zone, clock in clocks():
        plans = _lead_plans(_cast(demo_team, zone), clock)
        bad = [row[0][5] for row in plans[0] if not _valid(row[0][5])]
        assert bad == [], (zone, clock, bad)
        if first is None:
            first = plans
        assert plans == first, f"the demo leads' choices changed at {clock} ({zone})"


def test_the_deal_plans_are_the_same_at_every_hour_in_every_zone(
    demo_team: dict[str, User],
) -> None:
    # A transactional test's flush earlier in the run may have removed the default stages.
    demo_deals.ensure_default_stages()
    # The demo leads the deals start from, seeded the day before the clocks below.
    with time_machine.travel(datetime(2026, 11, 30, tzinfo=UTC), tick=True):
        demo_leads.seed_leads(**vars(_cast(demo_team, None)))
    first: tuple[list[Any], object] | None = None
    for zone, clock in clocks():
        plans = _deal_plans(_cast(demo_team, zone), clock)
        emails = [row[4][5] for row in plans[0]] + [row[10].get("email", "") for row in plans[0]]
        assert [email for email in emails if not _valid(email)] == [], (zone, clock)
        if first is None:
            first = plans
        assert plans == first, f"the demo deals' choices changed at {clock} ({zone})"
