"""Who sees which figures, bad input, the query count, CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from crm.dashboards.forms import CUSTOM_NEEDS_DATES, END_BEFORE_START, RANGE_TOO_LONG
from leads import services as lead_services
from tests.dashboards.conftest import RANGE, answered, at
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep, rep_b, rep_c, web) -> None:
    for owner, day in [(rep, 3), (rep, 4), (rep_b, 5), (rep_c, 6), (rep_c, 7), (rep_c, 8)]:
        lead = make_lead(owner, owner=owner, source=web)
        lead_services.lead_change_status(lead=lead, actor=owner, status="contacted")
        answered(lead, at(day), 20)


def get(user: User, **params: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get("/dashboard/", {**RANGE, **params})


def created(response: Any) -> int:
    return int(response.context["leads"].total.leads)


def test_each_role_sees_its_scope(
    world, manager, other_manager, rep, admin, team, other_team
) -> None:
    assert created(get(manager)) == 3
    assert created(get(other_manager)) == 3
    assert created(get(rep)) == 2
    assert created(get(admin)) == 6
    assert created(get(admin, team=str(team.pk))) == 3
    assert created(get(admin, team=str(other_team.pk))) == 3


def test_a_manager_cannot_ask_for_another_team(world, manager, other_team, rep_c) -> None:
    r = get(manager, team=str(other_team.pk))
    assert r.status_code == 200
    assert "team" in r.context["form"].errors
    assert created(r) == 3  # the default: their own teams, never South's
    r = get(manager, owner=str(rep_c.pk))
    assert "owner" in r.context["form"].errors
    assert created(r) == 3


def test_a_rep_sees_only_their_own_whatever_the_params(world, rep, rep_b, team) -> None:
    r = get(rep, owner=str(rep_b.pk), team=str(team.pk))
    assert created(r) == 2
    assert "owner" not in r.context["form"].fields
    assert {row.id for row in r.context["leads"].by_owner} == {rep.pk}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "", "end": ""}, "__all__", CUSTOM_NEEDS_DATES),
        ({"start": "2026-11-10", "end": "2026-11-01"}, "end", END_BEFORE_START),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "start", RANGE_TOO_LONG),
        ({"start": "0001-01-01", "end": "2026-01-01"}, "start", None),
        ({"start": "not a date"}, "start", None),
        ({"range": "forever"}, "range", None),
        ({"team": "x"}, "team", None),
        ({"source": "99999999999999999999999"}, "source", None),
    ],
)
def test_bad_params_are_errors_in_place(world, manager, params, field, message) -> None:
    r = get(manager, **params)
    assert r.status_code == 200
    errors = r.context["form"].errors
    assert field in errors
    if message:
        assert message in errors[field]
        assert message in r.content.decode()
    # The page still shows the default range (last 90 days), not an empty page.
    assert r.context["sel"].preset == "90"


def test_query_count_is_fixed(world, manager, rep, admin, django_assert_max_num_queries) -> None:
    for user in (manager, rep, admin):
        client = Client()
        client.force_login(user)
        client.get("/dashboard/", RANGE)
        with django_assert_max_num_queries(21):
            assert client.get("/dashboard/", RANGE).status_code == 200


def test_query_count_does_not_grow_with_rows(
    manager, rep, rep_b, web, referral, django_assert_num_queries
) -> None:
    client = Client()
    client.force_login(manager)
    client.get("/dashboard/", RANGE)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/dashboard/", RANGE)
    for i, owner in enumerate([rep, rep_b] * 3):
        lead = make_lead(owner, owner=owner, source=web if i % 2 else referral)
        answered(lead, at(i + 1), 15 * (i + 1))
    with django_assert_num_queries(len(few)):
        client.get("/dashboard/", RANGE)


def test_csv_of_a_table(world, manager, rep, rep_b) -> None:
    r = get(manager, csv="reps")
    assert r["Content-Type"].startswith("text/csv")
    assert 'filename="dashboard-reps-20261101-20261130.csv"' in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == [
        "Rep",
        "Leads",
        "Converted",
        "Conversion rate",
        "Qualified",
        "Qualification rate",
    ]
    by_name = {row[0]: row[1:] for row in rows[1:]}
    assert by_name[rep.get_full_name()][:2] == ["2", "0"]
    assert by_name[rep_b.get_full_name()][:2] == ["1", "0"]
    assert by_name["All"] == ["3", "0", "0.0", "0", "0.0"]


def test_unknown_csv_table_is_404(manager) -> None:
    assert get(manager, csv="nope").status_code == 404


def test_every_number_links_to_a_list_with_the_same_count(world, manager) -> None:
    r = get(manager)
    client = Client()
    client.force_login(manager)
    checked = 0
    for name in ("funnel", "reps", "sources", "response", "attention", "volume"):
        for row in r.context["t"][name].rows:
            for cell in row:
                if not cell.href or not cell.href.startswith("/leads/"):
                    continue
                listing = client.get(cell.href)
                assert listing.status_code == 200, cell.href
                assert listing.context["total"] == cell.value, (name, cell.href)
                checked += 1
    assert checked >= 15


def test_anonymous_is_sent_to_sign_in() -> None:
    r = Client().get("/dashboard/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]
