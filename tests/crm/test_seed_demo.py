"""The run command's first-run path: migrations are applied and the demo team exists."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Membership, Team, User
from accounts.roles import Role

pytestmark = pytest.mark.django_db

DEMO_EMAILS = ["admin@example.com", "manager@example.com", "rep1@example.com", "rep2@example.com"]


def test_no_migration_is_left_to_apply() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_seed_demo_creates_the_team_and_prints_the_logins() -> None:
    out = StringIO()
    call_command("seed_demo", "--password", "pw-for-the-demo-1", stdout=out)
    printed = out.getvalue()
    for email in DEMO_EMAILS:
        assert email in printed
        assert User.objects.get(email=email).check_password("pw-for-the-demo-1")
    assert "pw-for-the-demo-1" in printed

    team = Team.objects.get()
    roles = {m.user.email: m.role for m in team.memberships.select_related("user")}
    assert roles == {
        "manager@example.com": Membership.Role.MANAGER,
        "rep1@example.com": Membership.Role.MEMBER,
        "rep2@example.com": Membership.Role.MEMBER,
    }
    assert User.objects.get(email="admin@example.com").role == Role.ADMIN
    assert User.objects.get(email="rep1@example.com").role == Role.REP


def test_seed_demo_twice_duplicates_nothing() -> None:
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", "--password", "another-pass-22", stdout=StringIO())
    assert User.objects.count() == 4
    assert Team.objects.count() == 1
    assert Membership.objects.count() == 3
    assert all(user.groups.count() == 1 for user in User.objects.all())
    assert User.objects.get(email="rep2@example.com").check_password("another-pass-22")
