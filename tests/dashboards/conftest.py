from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import Team, User
from accounts.roles import Role
from leads.models import Lead, LostReason, Source
from tests.factories import add_to_team, make_user

# A range in the past with every day fixed; "now" is the real clock, after it.
RANGE = {"range": "custom", "start": "2026-11-01", "end": "2026-11-30"}


def at(day: int, month: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def stamp(lead: Lead, **fields: Any) -> None:
    """Set the clock-given fields the way a bulk write would (QuerySet.update): the
    summary's triggers must follow those too."""
    Lead.objects.filter(pk=lead.pk).update(**fields)


def answered(lead: Lead, created: datetime, minutes: int) -> None:
    stamp(
        lead,
        created_at=created,
        first_contacted_at=created + timedelta(minutes=minutes),
        first_response_time=timedelta(minutes=minutes),
        sla_due_at=created + timedelta(hours=24),
    )


@pytest.fixture
def web(db: None) -> Source:
    return Source.objects.get_or_create(name="Web form")[0]


@pytest.fixture
def referral(db: None) -> Source:
    return Source.objects.get_or_create(name="Referral")[0]


@pytest.fixture
def rep_c(other_team: Team) -> User:
    return add_to_team(other_team, make_user(email="rep.c@example.com", role=Role.REP))


@pytest.fixture
def no_budget(reason: LostReason) -> LostReason:
    return reason
