from __future__ import annotations

import pytest

from accounts.models import Membership, Team, User
from accounts.roles import Role
from leads.models import LostReason, Tag
from tests.factories import add_to_team, make_team, make_user


@pytest.fixture
def team() -> Team:
    return make_team(name="North")


@pytest.fixture
def other_team() -> Team:
    return make_team(name="South")


@pytest.fixture
def rep(team: Team) -> User:
    return add_to_team(team, make_user(email="rep.a@example.com", role=Role.REP))


@pytest.fixture
def rep_b(team: Team) -> User:
    return add_to_team(team, make_user(email="rep.b@example.com", role=Role.REP))


@pytest.fixture
def manager(team: Team) -> User:
    return add_to_team(
        team, make_user(email="manager@example.com", role=Role.MANAGER), Membership.Role.MANAGER
    )


@pytest.fixture
def other_manager(other_team: Team) -> User:
    return add_to_team(
        other_team,
        make_user(email="other.manager@example.com", role=Role.MANAGER),
        Membership.Role.MANAGER,
    )


@pytest.fixture
def admin(db: None) -> User:
    return make_user(email="admin@example.com", role=Role.ADMIN)


# Rows that data migrations create are wiped by the flush after a transactional test, so
# tests ask for them through these fixtures instead of assuming they exist.
@pytest.fixture
def reason(db: None) -> LostReason:
    return LostReason.objects.get_or_create(name="No budget")[0]


@pytest.fixture
def tag(db: None) -> Tag:
    return Tag.objects.get_or_create(name="Priority")[0]
