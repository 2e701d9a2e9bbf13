"""The home page, "my day": every block against one hand-built day, as a rep, as a manager
(their team, then one person of it) and as an admin; empty states; the person switch's
validation; completing and rescheduling a task in place (plain POST and htmx); query counts.

The clock is fixed at Monday 2026-06-15 12:00 UTC (everyone's timezone is UTC unless a test
says otherwise). Everything is made through the services at the time it happened; only the
lead score is written directly, as no service sets it on this branch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Team, User
from accounts.roles import Role
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.reminders import reminders_dispatch
from deals import services as deal_services
from deals.models import Deal
from leads import services as lead_services
from leads.models import Lead, LostReason
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import PASSWORD, add_to_team, make_lead, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
HX = {"HTTP_HX_REQUEST": "true"}


def at(*args: int) -> Any:
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)  # type: ignore[misc]


@dataclass
class Day:
    rep: User
    rep_b: User
    rep_c: User  # in the other team
    manager: User
    admin: User
    leads: dict[str, Lead]
    tasks: dict[str, Task]
    deals: dict[str, Deal]


def _deal(actor: User, key: str, value: str, stage: str, **terms: Any) -> Deal:
    deal = make_deal(actor, value=value, stage=stage, first_name=key, company=f"{key} Inc")
    if terms:
        deal = deal_services.deal_update(deal=deal, actor=actor, expected_version=None, **terms)
    return deal


def _lead(actor: User, name: str, **fields: Any) -> Lead:
    return make_lead(actor, first_name=name, last_name="Day", **fields)


def _contact(lead: Lead, actor: User) -> Lead:
    return lead_services.lead_change_status(lead=lead, actor=actor, status="contacted")


def _score(lead: Lead, score: int) -> None:
    Lead.objects.filter(pk=lead.pk).update(score=score, scored_at=timezone.now())


@pytest.fixture
def day(team: Team, other_team: Team, rep: User, rep_b: User, manager: User, admin: User) -> Day:
    rep_c = add_to_team(other_team, make_user(email="rep.c@example.com", role=Role.REP))
    stages = ensure_stages()
    reason = LostReason.objects.get_or_create(name="No budget")[0]
    leads: dict[str, Lead] = {}
    deals: dict[str, Deal] = {}
    tasks: dict[str, Task] = {}

    # April: the deals (their leads were qualified and converted then, so they are not
    # part of June's numbers).
    with at(2026, 4, 1, 10):
        deals["d1"] = _deal(rep, "D1", "1000", "Meeting set", expected_close_date=date(2026, 7, 10))
        deals["d2"] = _deal(
            rep,
            "D2",
            "2000",
            "Proposal sent",
            currency="EUR",
            expected_close_date=date(2026, 6, 20),
        )
        deals["d3"] = _deal(rep, "D3", "500", "Negotiation")  # no close date
        deals["d4"] = _deal(rep, "D4", "300", "Meeting set", expected_close_date=date(2026, 5, 1))
        deals["d5"] = _deal(rep, "D5", "400", "Meeting set")
        deals["d6"] = _deal(rep, "D6", "700", "Meeting set")
        deals["b1"] = _deal(
            rep_b, "B1", "10000", "Meeting set", expected_close_date=date(2026, 6, 30)
        )
        deals["c1"] = _deal(
            rep_c, "C1", "99999", "Meeting set", expected_close_date=date(2026, 6, 30)
        )
    with at(2026, 5, 20, 10):
        deal_services.deal_move_stage(deal=deals["d6"], actor=rep, stage=stages["Won"])
        leads["a5"] = _contact(_lead(rep, "Mayda"), rep)  # contacted in May: not June's
    # June.
    with at(2026, 6, 1, 9):
        leads["a4"] = _lead(rep, "Quinn")
    with at(2026, 6, 2, 9):
        leads["lost"] = lead_services.lead_change_status(
            lead=_lead(rep, "Lostie"), actor=rep, status="lost", reason=reason
        )
    with at(2026, 6, 3, 9):  # 48 h after it came in: later than the 24 h target
        leads["a4"] = _contact(leads["a4"], rep)
    with at(2026, 6, 5, 9):
        leads["a4"] = lead_services.lead_set_next_action(
            lead=leads["a4"], actor=rep, next_action="Demo", due=NOW + timedelta(days=3)
        )
        leads["a4"] = lead_services.lead_change_status(
            lead=leads["a4"], actor=rep, status="qualified"
        )
    with at(2026, 6, 10, 10):
        leads["a3"] = _lead(rep, "Ciara")
        leads["b1"] = _lead(rep_b, "Bea")
        leads["c1"] = _lead(rep_c, "Cat")
    with at(2026, 6, 10, 11):
        leads["c1"] = _contact(leads["c1"], rep_c)  # 1 h
    with at(2026, 6, 10, 12):
        leads["a3"] = _contact(leads["a3"], rep)  # 2 h
    with at(2026, 6, 11, 10):
        leads["b1"] = _contact(leads["b1"], rep_b)  # 24 h: just within the target
    with at(2026, 6, 14, 6):
        leads["a1"] = _lead(rep, "Late")  # contact by 06-15 06:00: 6 h late at noon
    with at(2026, 6, 14, 12):
        deal_services.deal_move_stage(deal=deals["d5"], actor=rep, stage=stages["Won"])
    with at(2026, 6, 15, 8):
        leads["pool"] = lead_services.lead_create(
            actor=manager, owner=None, team=team, first_name="Pooled", email="pool@example.com"
        )
    with at(2026, 6, 15, 10):
        leads["a2"] = _lead(rep, "Fresh")  # contact by 06-16 10:00: 22 h left
    with at(2026, 6, 15, 11):
        leads["b2"] = _lead(rep_b, "Newbie")
        leads["c2"] = _lead(rep_c, "Southie")
    with at(2026, 6, 15, 9):
        for key, owner, title, due in [
            ("a_overdue", rep, "Call Ann back", datetime(2026, 6, 14, 15, tzinfo=UTC)),
            ("a_today", rep, "Email the quote", datetime(2026, 6, 15, 16, tzinfo=UTC)),
            ("a_tomorrow", rep, "Plan next week", datetime(2026, 6, 16, 9, tzinfo=UTC)),
            ("a_done", rep, "Already done", datetime(2026, 6, 13, 9, tzinfo=UTC)),
            ("b_overdue", rep_b, "Call Bea", datetime(2026, 6, 15, 9, 30, tzinfo=UTC)),
            ("c_overdue", rep_c, "Call Cat", datetime(2026, 6, 15, 10, tzinfo=UTC)),
        ]:
            tasks[key] = followups.task_create(
                actor=owner,
                title=title,
                kind=Task.Kind.CALL,
                due_at=due,
                lead=leads["a3"] if owner == rep else None,
            )
        tasks["a_done"] = followups.task_complete(task=tasks["a_done"], actor=rep)
    # The overdue tasks' reminders went out (the page reads what became of their emails).
    assert reminders_dispatch(at=NOW) == 3
    # The services scored every lead as it was made; the fixture's scores are set by hand,
    # so the others go back to never scored.
    Lead.objects.update(score=0, scored_at=None)
    for key, score in [("a4", 90), ("a3", 70), ("b1", 50), ("c1", 99), ("lost", 95)]:
        _score(leads[key], score)
    return Day(rep, rep_b, rep_c, manager, admin, leads, tasks, deals)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def home(user: User, query: str = "") -> Any:
    response = client_for(user).get(reverse("home") + query)
    assert response.status_code == 200, response.content[:500]
    return response


def task_titles(response: Any) -> list[str]:
    return [task.title for task in response.context["tasks"].tasks]


def names(leads: list[Lead]) -> list[str]:
    return [lead.first_name for lead in leads]


def currency(response: Any, code: str) -> Any:
    return next(e for e in response.context["pipeline"].currencies if e.currency == code)


# --- Each block, per role ----------------------------------------------------------------


def test_a_rep_sees_their_own_day(day: Day) -> None:
    response = home(day.rep)
    context = response.context
    assert context["heading"] == "My day"
    assert context["switch"] == []  # a rep has no one to switch to

    assert task_titles(response) == ["Call Ann back", "Email the quote"]
    assert (context["tasks"].overdue, context["tasks"].later_today) == (1, 1)

    waiting = context["waiting"]
    assert names(waiting.leads) == ["Late", "Fresh"]  # not the team's pooled lead
    assert (waiting.total, waiting.breached) == (2, 1)
    html = response.content.decode()
    assert "Overdue by 6\xa0hours" in html
    assert "22\xa0hours left" in html

    assert names(context["hottest"]) == ["Quinn", "Ciara"]  # not the lost one, not score 0

    usd = currency(response, "USD")
    assert (usd.count, usd.value, usd.weighted) == (3, Decimal("1800"), Decimal("635.00"))
    assert [(m.month, m.count, m.value, m.weighted) for m in usd.months] == [
        (date(2026, 7, 1), 1, Decimal("1000"), Decimal("200.00"))
    ]
    assert (usd.past_close, usd.undated) == (1, 1)
    assert (usd.won_count, usd.won_value) == (1, Decimal("400"))  # D5; D6 was won in May
    eur = currency(response, "EUR")
    assert (eur.count, eur.value, eur.weighted, eur.won_count) == (
        1,
        Decimal("2000"),
        Decimal("1000.00"),
        0,
    )
    assert [m.month for m in eur.months] == [date(2026, 6, 1)]
    assert [e.currency for e in context["pipeline"].currencies] == ["USD", "EUR"]

    month = context["month"]
    assert (month.contacted, month.qualified, month.within_target) == (2, 1, 1)
    assert month.average_response == timedelta(hours=25)  # (48 h + 2 h) / 2
    assert month.average_response_label == "1 day 1 h"
    assert month.within_target_percent == 50
    assert "June in numbers" in html


def test_a_manager_sees_their_team_by_default(day: Day) -> None:
    response = home(day.manager)
    context = response.context
    assert context["heading"] == "My team's day"
    assert task_titles(response) == ["Call Ann back", "Call Bea", "Email the quote"]
    assert (context["tasks"].overdue, context["tasks"].later_today) == (2, 1)
    waiting = context["waiting"]
    # The team's unassigned pool is the manager's to hand out: it is listed too.
    assert names(waiting.leads) == ["Late", "Pooled", "Fresh", "Newbie"]
    assert (waiting.total, waiting.breached) == (4, 1)
    assert names(context["hottest"]) == ["Quinn", "Ciara", "Bea"]
    usd = currency(response, "USD")
    assert (usd.count, usd.value, usd.weighted) == (4, Decimal("11800"), Decimal("2635.00"))
    assert [(m.month, m.count) for m in usd.months] == [
        (date(2026, 6, 1), 1),
        (date(2026, 7, 1), 1),
    ]
    month = context["month"]
    assert (month.contacted, month.qualified, month.within_target) == (3, 1, 2)
    assert month.average_response == timedelta(hours=24, minutes=40)  # (48 + 2 + 24) / 3
    assert month.within_target_percent == 67
    # Nothing of the other team's.
    html = response.content.decode()
    for other in ("Call Cat", "Southie", "99,999"):
        assert other not in html


def test_a_manager_switches_to_one_person_of_their_team(day: Day) -> None:
    response = home(day.manager, f"?person={day.rep_b.pk}")
    context = response.context
    assert context["heading"] == f"{day.rep_b}'s day"
    assert task_titles(response) == ["Call Bea"]
    assert names(context["waiting"].leads) == ["Newbie"]
    assert names(context["hottest"]) == ["Bea"]
    usd = currency(response, "USD")
    assert (usd.count, usd.value, usd.weighted, usd.won_count) == (
        1,
        Decimal("10000"),
        Decimal("2000.00"),
        0,
    )
    assert [e.currency for e in context["pipeline"].currencies] == ["USD"]
    month = context["month"]
    assert (month.contacted, month.within_target, month.average_response_label) == (1, 1, "1 day")
    # The switch offers the team and its people, the chosen one selected.
    labels = [label for _, label in context["switch"]]
    assert labels[:2] == ["My team", "Me"]
    assert str(day.rep) in labels
    assert str(day.rep_c) not in labels
    assert f'<option value="{day.rep_b.pk}" selected>' in response.content.decode()
    # Its links lead to the same person's lists.
    links = context["links"]
    assert links["overdue"] == f"/tasks/?show=overdue&who={day.rep_b.pk}"
    assert links["waiting"] == f"/leads/?status=new&sort=created&owner={day.rep_b.pk}"
    assert links["pipeline"] == f"/deals/?state=open&owner={day.rep_b.pk}"


def test_an_admin_sees_everyone_and_switches_to_anyone(day: Day) -> None:
    response = home(day.admin)
    context = response.context
    assert context["heading"] == "Everyone's day"
    assert task_titles(response) == ["Call Ann back", "Call Bea", "Call Cat", "Email the quote"]
    assert context["waiting"].total == 5
    assert names(context["hottest"]) == ["Cat", "Quinn", "Ciara", "Bea"]
    assert currency(response, "USD").value == Decimal("111799")
    assert context["month"].contacted == 4
    assert context["switch"][0] == ("", "Everyone")

    response = home(day.admin, f"?person={day.rep_c.pk}")
    assert task_titles(response) == ["Call Cat"]
    assert names(response.context["hottest"]) == ["Cat"]
    assert names(response.context["waiting"].leads) == ["Southie"]
    assert currency(response, "USD").value == Decimal("99999")


def test_links_for_own_and_team_views(day: Day) -> None:
    links = home(day.rep).context["links"]
    assert links == {
        "overdue": "/tasks/?show=overdue&who=me",
        "today": "/tasks/?show=today&who=me",
        "waiting": "/leads/?status=new&sort=created&owner=me",
        "breached": "/leads/?sla=breached&sort=created&owner=me",
        "hottest": "/leads/?status=open&sort=-score&owner=me",
        "pipeline": "/deals/?state=open&owner=me",
        "won": "/deals/?state=won&owner=me",
        "contacted": "/leads/?status=contacted&owner=me",
        "qualified": "/leads/?status=qualified&owner=me",
    }
    team = home(day.manager).context["links"]
    assert team["overdue"] == "/tasks/?show=overdue&who=team"
    assert team["pipeline"] == "/deals/?state=open"
    # The linked lists agree with the blocks' counts where a filter says the same thing.
    client = client_for(day.rep)
    assert len(client.get(links["overdue"]).context["tasks"]) == 1
    breached = client.get(links["breached"])
    assert [lead.first_name for lead in breached.context["page"].rows] == ["Late"]


def test_the_forecast_month_links_to_the_deal_list_of_that_month(day: Day) -> None:
    html = home(day.rep).content.decode()
    assert 'href="/deals/?state=open&amp;owner=me&amp;close_month=2026-07"' in html
    response = client_for(day.rep).get("/deals/?state=open&owner=me&close_month=2026-07")
    assert [deal.title for deal in response.context["page"].rows] == ["D1 Inc deal"]


# --- Whose day: the switch is checked on the server --------------------------------------


def test_a_manager_cannot_open_someone_outside_their_teams(day: Day) -> None:
    client = client_for(day.manager)
    assert client.get(f"/?person={day.rep_c.pk}").status_code == 404
    assert client.get(f"/?person={day.admin.pk}").status_code == 404
    assert client.get("/?person=999999999").status_code == 404


def test_a_rep_cannot_open_anyone_else(day: Day) -> None:
    client = client_for(day.rep)
    assert client.get(f"/?person={day.rep_b.pk}").status_code == 404
    assert client.get(f"/?person={day.rep.pk}").status_code == 200  # themselves is fine


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", "9" * 30, "²"])
def test_a_malformed_person_is_a_bad_request(day: Day, bad: str) -> None:
    response = client_for(day.manager).get("/", {"person": bad})
    assert response.status_code == 400


def test_htmx_switch_swaps_only_the_day(day: Day) -> None:
    response = client_for(day.manager).get(f"/?person={day.rep_b.pk}", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="day">')
    assert "<html" not in html
    assert "Call Bea" in html
    assert "HX-Request" in response["Vary"]


# --- Empty states ------------------------------------------------------------------------


def test_a_new_rep_sees_an_empty_state_in_every_block(team: Team) -> None:
    newcomer = add_to_team(team, make_user(email="new@example.com", role=Role.REP))
    html = home(newcomer).content.decode()
    for message in (
        "Nothing due today and nothing overdue.",
        "No new lead is waiting for a first contact.",
        "No open lead has a score yet.",
        "No open deals.",
        "No first contact yet",
    ):
        assert message in html
    assert "0 overdue" in html
    assert "0 open deals" in html


def test_a_manager_of_an_empty_team_sees_empty_states(db: None) -> None:
    empty = Team.objects.create(name="Empty")
    boss = add_to_team(
        empty, make_user(email="boss@example.com", role=Role.MANAGER), Membership.Role.MANAGER
    )
    response = home(boss)
    assert response.context["switch"] == [("", "My team"), (str(boss.pk), "Me")]
    assert "No open deals." in response.content.decode()


# --- Dates in the user's timezone ----------------------------------------------------------


def test_today_and_the_month_follow_the_users_timezone(day: Day) -> None:
    # At 12:00 UTC it is already 02:00 on Tuesday in Auckland (UTC+12): "today" there ends
    # at 12:00 UTC on Tuesday, so Tuesday's 09:00 UTC task is due today.
    day.rep.timezone = "Pacific/Auckland"
    day.rep.save(update_fields=["timezone"])
    response = home(day.rep)
    assert task_titles(response) == ["Call Ann back", "Email the quote", "Plan next week"]
    assert response.context["tasks"].later_today == 2
    html = response.content.decode()
    assert "Tuesday, June 16" in html
    assert "Pacific/Auckland" in html


def test_the_month_starts_at_local_midnight(day: Day) -> None:
    # In Los Angeles (UTC-7 in June) the month began at 07:00 UTC on June 1: all of the
    # rep's June contacts are still in it; in a zone ahead of UTC, nothing changes either.
    day.rep.timezone = "America/Los_Angeles"
    day.rep.save(update_fields=["timezone"])
    assert home(day.rep).context["month"].contacted == 2


# --- Complete and reschedule in place ------------------------------------------------------


def _form_fields(html: str, action: str) -> dict[str, str]:
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))


def test_complete_without_javascript_comes_back_home(day: Day) -> None:
    task = day.tasks["a_today"]
    client = client_for(day.rep, enforce_csrf_checks=True)
    html = client.get("/").content.decode()
    action = reverse("tasks:complete", args=[task.pk])
    fields = _form_fields(html, action)
    assert fields["next"] == "/"
    assert fields["version"] == str(task.version)
    # Without the CSRF token the POST is refused.
    assert client.post(action, {"version": task.version, "next": "/"}).status_code == 403
    response = client.post(action, fields)
    assert response.status_code == 302
    assert response["Location"] == "/"
    task.refresh_from_db()
    assert task.done_at is not None
    assert task.done_by == day.rep
    page = client.get("/")
    assert "Done: “Email the quote”." in page.content.decode()
    assert task_titles(page) == ["Call Ann back"]


def test_complete_with_htmx_swaps_the_row(day: Day) -> None:
    task = day.tasks["a_overdue"]
    client = client_for(day.rep)
    response = client.post(
        reverse("tasks:complete", args=[task.pk]),
        {"version": task.version, "part": "row", "next": "/"},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="task-{task.pk}"')
    assert "Done: “Call Ann back”." in html
    assert "Reopen" in html
    task.refresh_from_db()
    assert task.is_done


def test_reschedule_from_a_persons_day_returns_to_it(day: Day) -> None:
    task = day.tasks["b_overdue"]
    client = client_for(day.manager)
    query = f"/?person={day.rep_b.pk}"
    action = reverse("tasks:reschedule", args=[task.pk])
    fields = _form_fields(client.get(query).content.decode(), action)
    assert fields["next"] == query
    response = client.post(action, {**fields, "shift": "day"})
    assert response.status_code == 302
    assert response["Location"] == query
    task.refresh_from_db()
    # Overdue by 2.5 h: "+1 day" moves it to tomorrow at the same time, not to today.
    assert task.due_at == datetime(2026, 6, 16, 9, 30, tzinfo=UTC)
    assert task_titles(client.get(query)) == []


def test_reschedule_with_htmx_swaps_the_row(day: Day) -> None:
    task = day.tasks["a_today"]
    response = client_for(day.rep).post(
        reverse("tasks:reschedule", args=[task.pk]),
        {"version": task.version, "part": "row", "next": "/", "due_at": "2026-06-18T10:00"},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<tr id="task-{task.pk}"' in html
    assert "Thu Jun 18, 10:00" in html
    task.refresh_from_db()
    assert task.due_at == datetime(2026, 6, 18, 10, tzinfo=UTC)


def test_a_stale_version_is_refused_in_place(day: Day) -> None:
    task = day.tasks["a_today"]
    response = client_for(day.rep).post(
        reverse("tasks:complete", args=[task.pk]),
        {"version": task.version + 5, "part": "row", "next": "/"},
        **HX,
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    task.refresh_from_db()
    assert not task.is_done


# --- Sign-in lands here, and the page is cheap -------------------------------------------


def test_signing_in_lands_on_my_day(day: Day) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": day.rep.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "My day" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("role", "query"),
    [("rep", ""), ("manager", ""), ("manager", "person"), ("admin", ""), ("admin", "person")],
)
def test_query_count_is_bounded_for_every_role(
    day: Day, role: str, query: str, django_assert_max_num_queries: Any
) -> None:
    user = getattr(day, role)
    client = client_for(user)
    path = f"/?person={day.rep_b.pk}" if query else "/"
    client.get(path)  # warm caches (content types, the response target)
    with django_assert_max_num_queries(12):
        response = client.get(path)
    assert response.status_code == 200
    tasks = response.context["tasks"].tasks
    assert tasks  # the page had something in every block
    # ... including a sent reminder, whose email's fate costs the page its one extra query.
    assert any(task.reminder_state == Task.Reminder.SENT for task in tasks)
    assert response.context["waiting"].leads
    assert response.context["hottest"]


def test_counts_stop_at_the_cap(day: Day, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm.home import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 1)
    response = home(day.manager)
    tasks, waiting = response.context["tasks"], response.context["waiting"]
    # Only the first (oldest) of each list is counted: "1+" says there may be more.
    assert (tasks.overdue, tasks.later_today) == (1, 0)
    assert (tasks.overdue_label, tasks.later_today_label) == ("1+", "0+")
    assert task_titles(response) == ["Call Ann back"]
    assert (waiting.total_label, waiting.breached_label) == ("1+", "1+")
    html = response.content.decode()
    assert "1+ overdue" in html
    assert "1+ waiting" in html


def test_counts_below_the_cap_are_exact(day: Day) -> None:
    tasks = home(day.manager).context["tasks"]
    assert (tasks.overdue_label, tasks.later_today_label) == ("2", "1")
