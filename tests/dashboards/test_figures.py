"""Every lead figure of /dashboard/ against a hand-computed fixture.

North (manager, rep A, rep B) and South (other manager, rep C). In November 2026:
  L1  A  web       Nov 3   contacted after 30 min (target 24 h)
  L2  A  web       Nov 10  qualified, first contact after 3 h
  L3  A  referral  Nov 10  contacted after 30 h (late), then lost: "No budget"
  L4  B  referral  Nov 20  new, never contacted (past its target now)
  L7  B  web       Nov 12  converted, first contact after 10 min
and outside the range or the team:
  L5  A  web       Oct 15  new, never contacted
  L6  C  web       Nov 5   (South) contacted after 5 min
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from crm.dashboards.models import LeadDay
from crm.dashboards.services import summary_rebuild
from crm.followups.models import Task
from crm.followups.services import task_create
from deals import services as deal_services
from leads import services as lead_services
from leads.models import Lead
from tests.dashboards.conftest import RANGE, answered, at, stamp
from tests.deals.helpers import ensure_stages, qualified_lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep, rep_b, rep_c, manager, other_manager, web, referral, no_budget) -> dict[str, Any]:
    l1 = make_lead(rep, owner=rep, source=web, last_name="One")
    lead_services.lead_change_status(lead=l1, actor=rep, status="contacted")
    answered(l1, at(3), 30)

    l2 = qualified_lead(rep, owner=rep, source=web, last_name="Two")
    answered(l2, at(10), 180)

    l3 = make_lead(rep, owner=rep, source=referral, last_name="Three")
    l3 = lead_services.lead_change_status(lead=l3, actor=rep, status="contacted")
    lead_services.lead_change_status(lead=l3, actor=rep, status="lost", reason=no_budget)
    answered(l3, at(10, hour=12), 30 * 60)

    l4 = make_lead(rep_b, owner=rep_b, source=referral, last_name="Four")
    stamp(l4, created_at=at(20), sla_due_at=at(21))

    l7 = qualified_lead(rep_b, owner=rep_b, source=web, last_name="Seven")
    deal_services.lead_convert(
        lead=l7,
        actor=rep_b,
        title="Seven deal",
        value=Decimal("100"),
        stage=ensure_stages()["Meeting set"],
    )
    answered(l7, at(12), 10)

    l5 = make_lead(rep, owner=rep, source=web, last_name="Five")
    stamp(l5, created_at=at(15, month=10), sla_due_at=at(16, month=10))

    l6 = make_lead(rep_c, owner=rep_c, source=web, last_name="Six")
    lead_services.lead_change_status(lead=l6, actor=rep_c, status="contacted")
    answered(l6, at(5), 5)

    task = task_create(actor=rep, title="Call back", due_at=timezone.now() + timedelta(days=1))
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=2))
    return {"l1": l1, "l3": l3, "l4": l4}


def page(user: User, **params: str) -> Any:
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/", {**RANGE, **params})
    assert response.status_code == 200
    return response


def cells(response: Any, table: str) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in response.context["t"][table].rows]


def test_funnel_outcomes_and_rates(world, manager) -> None:
    r = page(manager)
    assert cells(r, "funnel") == [
        ["Created", "5", ""],
        ["Contacted", "4", "1"],
        ["Qualified", "2", "2"],
        ["Converted", "1", "1"],
    ]
    assert cells(r, "outcomes") == [["Lost", "1"], ["Unqualified", "0"], ["Junk", "0"]]
    reps = {row[0]: row[1:] for row in cells(r, "reps")}
    a, b = "rep.a", "rep.b"
    a_label = next(k for k in reps if k not in ("All",) and reps[k][0] == "3")
    b_label = next(k for k in reps if k not in ("All", a_label))
    assert reps[a_label] == ["3", "0", "0.0%", "1", "33.3%"]
    assert reps[b_label] == ["2", "1", "50.0%", "1", "50.0%"]
    assert reps["All"] == ["5", "1", "20.0%", "2", "40.0%"]
    assert a
    assert b
    assert cells(r, "sources") == [
        ["Web form", "3", "1", "33.3%"],
        ["Referral", "2", "0", "0.0%"],
    ]
    assert cells(r, "reasons") == [["Lost", "No budget", "1"]]


def test_response_times_per_rep(world, manager, rep, rep_b) -> None:
    r = page(manager)
    rows = {row[0]: row[1:] for row in cells(r, "response")}
    # A: 30 min, 3 h, 30 h → average 670 min; median in the 2–4 h bucket; p90 in 1–2 days.
    assert rows[rep.get_full_name()] == ["3", "11.2 h", "≤ 4.0 h", "≤ 2.0 days", "2", "66.7%"]
    assert rows[rep_b.get_full_name()] == ["1", "10 min", "≤ 15 min", "≤ 15 min", "1", "100.0%"]
    assert rows["All"][0] == "4"
    assert rows["All"][4] == "3"


def test_volume_by_week_and_month(world, manager) -> None:
    r = page(manager)
    volume = r.context["t"]["volume"]
    assert volume.columns == [
        "Source",
        "Week of 02 Nov",
        "Week of 09 Nov",
        "Week of 16 Nov",
        "Total",
    ]
    assert cells(r, "volume") == [
        ["Web form", "1", "2", "0", "3"],
        ["Referral", "0", "1", "1", "2"],
    ]
    monthly = page(manager, period="month")
    assert cells(monthly, "volume") == [["Web form", "3", "3"], ["Referral", "2", "2"]]


def test_current_state_per_rep(world, manager, rep, rep_b) -> None:
    r = page(manager)
    rows = {row[0]: row[1:] for row in cells(r, "attention")}
    # Now, whatever the range: A has L1 and L5 without a next action, L5 waiting too long,
    # and one overdue follow-up; B has L4 (new, no next action, past its target).
    assert rows[rep.get_full_name()] == ["1", "2", "1"]
    assert rows[rep_b.get_full_name()] == ["0", "1", "1"]


def test_empty_range_says_so(world, manager) -> None:
    r = page(manager, start="2020-01-01", end="2020-01-31")
    assert r.context["leads"].is_empty
    html = r.content.decode()
    assert "No leads arrived in this range." in html
    assert "No leads in this range." in html  # the volume chart, instead of empty axes
    assert cells(r, "funnel")[0] == ["Created", "0", ""]
    # Division by zero is a dash, not an error.
    assert cells(r, "reps") == [["All", "0", "0", "–", "0", "–"]]


def test_rep_with_no_leads(world, manager, team) -> None:
    from accounts.roles import Role
    from tests.factories import add_to_team, make_user

    idle = add_to_team(team, make_user(email="idle@example.com", role=Role.REP))
    r = page(manager, owner=str(idle.pk))
    assert cells(r, "funnel")[0] == ["Created", "0", ""]
    assert cells(r, "response") == [["All", "0", "–", "–", "–", "0", "–"]]
    assert cells(r, "attention") == []


def test_lead_moved_to_another_team_moves_its_counts(
    world, manager, other_manager, rep_c, admin
) -> None:
    lead_services.lead_assign_owner(
        lead=Lead.objects.get(pk=world["l3"].pk), actor=admin, owner=rep_c
    )
    Lead.objects.filter(pk=world["l3"].pk).update(team=rep_c.memberships.first().team)
    assert cells(page(manager), "funnel")[0] == ["Created", "4", ""]
    assert cells(page(manager), "reasons") == []
    assert cells(page(other_manager), "funnel")[0] == ["Created", "2", ""]
    assert cells(page(other_manager), "reasons") == [["Lost", "No budget", "1"]]


def test_rebuild_gives_the_same_rows(world) -> None:
    before = sorted(
        LeadDay.objects.filter(leads__gt=0).values_list(
            "day", "owner_id", "leads", "s_converted", "r3"
        )
    )
    summary_rebuild()
    after = sorted(LeadDay.objects.values_list("day", "owner_id", "leads", "s_converted", "r3"))
    assert before == after


def test_every_lead_number_opens_a_list_with_that_count(world, manager) -> None:
    r = page(manager)
    client = Client()
    client.force_login(manager)
    checked = set()
    for name, table in r.context["t"].items():
        for row in table.rows:
            for cell in row:
                if cell.href.startswith("/leads/"):
                    listing = client.get(cell.href)
                    assert listing.status_code == 200, cell.href
                    assert listing.context["total"] == cell.value, (name, cell.href)
                    checked.add(name)
    assert checked == {
        "volume",
        "funnel",
        "outcomes",
        "reps",
        "sources",
        "response",
        "reasons",
        "attention",
    }


def test_the_lead_list_refuses_a_bad_reason(manager) -> None:
    client = Client()
    client.force_login(manager)
    assert client.get("/leads/", {"lost_reason": "1; drop"}).status_code == 200
