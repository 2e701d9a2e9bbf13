"""Task pages: who sees which task (the scoping matrix), the list's tabs in the user's own
timezone, the one-click actions (plain POST and htmx), the record pages' panel, garbage
input, CSRF, and the list's query count."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.reminders import reminders_dispatch
from crm.followups.views import COMPLETE_BAD_INPUT, RESCHEDULE_BAD_INPUT
from crm.forms import VERSION_MISSING
from crm.models import AuditEvent, Notification
from deals.models import Deal
from leads import services
from leads.models import Lead, LeadNote, LostReason
from tests.deals.helpers import make_deal
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, first_name="Rita", last_name="Owned", company="Acme")


@pytest.fixture
def task(rep: User, lead: Lead) -> Task:
    """Rep A's call on their own lead, due tomorrow."""
    return followups.task_create(
        actor=rep,
        title="Call Rita about pricing",
        kind=Task.Kind.CALL,
        due_at=timezone.now() + timedelta(days=1),
        lead=lead,
    )


def client_for(user: User, **kwargs: bool) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def row_titles(client: Client, query: str = "") -> list[str]:
    response = client.get(reverse("tasks:list") + query)
    assert response.status_code == 200
    return [task.title for task in response.context["tasks"]]


# --- The scoping matrix ----------------------------------------------------------------------

ACTORS = {
    # actor fixture: (sees rep A's task; may reassign)
    "rep": (True, False),
    "rep_b": (False, False),
    "manager": (True, True),
    "other_manager": (False, False),
    "admin": (True, True),
}


@pytest.mark.parametrize("actor", ACTORS)
def test_the_list_shows_a_task_only_to_those_who_see_it(
    request: pytest.FixtureRequest, actor: str, task: Task
) -> None:
    sees, _ = ACTORS[actor]
    client = client_for(request.getfixturevalue(actor))
    # Mine by default: only rep A has it among their own.
    assert (task.title in row_titles(client)) is (actor == "rep")
    assert (task.title in row_titles(client, "?who=team")) is sees
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == (200 if sees else 404)
    assert client.get(reverse("tasks:edit", args=[task.pk])).status_code == (200 if sees else 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_every_action_on_a_task_is_404_for_those_who_cannot_see_it(
    request: pytest.FixtureRequest, actor: str, task: Task, rep: User, manager: User
) -> None:
    sees, may_reassign = ACTORS[actor]
    client = client_for(request.getfixturevalue(actor))
    due = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    actions: list[tuple[str, dict[str, object]]] = [
        ("edit", {"title": "Changed", "kind": "call", "due_at": due, "remind_before": "15"}),
        ("reschedule", {"shift": "week"}),
        # To someone who can work on rep A's lead (rep B cannot: see test_task_records).
        ("reassign", {"assignee": manager.pk}),
        ("complete", {"outcome": "Interested"}),
        ("reopen", {}),
    ]
    for name, data in actions:
        version = Task.objects.get(pk=task.pk).version
        response = client.post(
            reverse(f"tasks:{name}", args=[task.pk]), {**data, "version": version}
        )
        assert response.status_code == (302 if sees else 404), name
    task.refresh_from_db()
    if not sees:
        assert (task.title, task.assignee, task.done_at) == ("Call Rita about pricing", rep, None)
        assert AuditEvent.objects.for_object(task).count() == 1
        assert not LeadNote.objects.exists()
    else:
        assert task.title == "Changed"
        assert task.done_at is None  # completed, then reopened
        assert task.assignee == (manager if may_reassign else rep)
        assert LeadNote.objects.get().outcome == "Interested"


def test_a_rep_posting_a_reassign_gets_the_services_message(
    rep: User, rep_b: User, task: Task
) -> None:
    response = client_for(rep).post(
        reverse("tasks:reassign", args=[task.pk]), {"assignee": rep_b.pk}, follow=True
    )
    assert followups.TASK_ASSIGN_NOT_ALLOWED in response.content.decode()
    task.refresh_from_db()
    assert task.assignee == rep


def test_a_manager_picks_a_person_only_among_their_people(
    manager: User, rep: User, rep_b: User, other_manager: User, lead: Lead
) -> None:
    mine = followups.task_create(actor=rep, title="A's", due_at=timezone.now(), lead=lead)
    theirs = followups.task_create(actor=rep_b, title="B's", due_at=timezone.now())
    followups.task_create(actor=other_manager, title="South's", due_at=timezone.now())
    client = client_for(manager)
    assert row_titles(client, f"?who={rep.pk}") == [mine.title]
    assert row_titles(client, f"?who={rep_b.pk}") == [theirs.title]
    assert sorted(row_titles(client, "?who=team")) == ["A's", "B's"]
    # Someone outside the team (or garbage) is not a choice: back to the manager's own.
    assert row_titles(client, f"?who={other_manager.pk}") == []
    assert row_titles(client, "?who=abc") == []
    page = client.get(reverse("tasks:list")).content.decode()
    assert str(rep) in page
    assert str(other_manager) not in page


# --- The tabs, in the user's own timezone ----------------------------------------------------

AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")
# 20:00 UTC on March 4th is 09:00 on March 5th in Auckland (UTC+13 in March).
FROZEN = datetime(2030, 3, 4, 20, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))


def test_tabs_follow_the_users_timezone(monkeypatch: pytest.MonkeyPatch, team) -> None:
    kiwi = make_user(email="kiwi@example.com", timezone="Pacific/Auckland")

    def at(day: int, hour: int) -> datetime:
        return datetime(2030, 3, day, hour, 0, tzinfo=AUCKLAND)

    def make(title: str, due: datetime) -> Task:
        return followups.task_create(actor=kiwi, title=title, due_at=due, remind_before=None)

    make("yesterday evening", at(4, 22))  # overdue; "today" only by the UTC calendar
    make("early today", at(5, 8))  # overdue, and today
    make("this evening", at(5, 18))  # today; already "tomorrow" by the UTC calendar
    make("the day after", at(6, 10))  # upcoming
    done = make("finished", at(3, 10))
    followups.task_complete(task=done, actor=kiwi)
    monkeypatch.setattr("django.utils.timezone.now", lambda: FROZEN)

    client = client_for(kiwi)
    assert row_titles(client, "?show=overdue") == ["yesterday evening", "early today"]
    assert row_titles(client, "?show=today") == ["early today", "this evening"]
    assert row_titles(client, "?show=upcoming") == ["the day after"]
    assert row_titles(client, "?show=done") == ["finished"]
    assert row_titles(client) == [
        "yesterday evening",
        "early today",
        "this evening",
        "the day after",
    ]
    tabs = client.get(reverse("tasks:list")).context["tabs"]
    assert [(key, count) for key, _, count in tabs] == [
        ("", 4),
        ("overdue", 2),
        ("today", 2),
        ("upcoming", 1),
        ("done", None),
    ]
    # Shown in Auckland time.
    page = client.get(reverse("tasks:list") + "?show=today").content.decode()
    assert "Tue Mar 5, 18:00" in page
    assert row_titles(client, "?show=nonsense") == row_titles(client)


def test_done_tab_pages_through_many(rep: User) -> None:
    for i in range(55):
        task = followups.task_create(actor=rep, title=f"T{i:02d}", due_at=timezone.now())
        followups.task_complete(task=task, actor=rep)
    client = client_for(rep)
    first = client.get(reverse("tasks:list") + "?show=done")
    assert len(first.context["tasks"]) == 50
    assert first.context["tasks"][0].title == "T54"  # done most recently first
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("tasks:list") + f"?show=done&cursor={cursor}")
    assert [t.title for t in second.context["tasks"]] == [f"T{i:02d}" for i in range(4, -1, -1)]
    garbage = client.get(reverse("tasks:list") + "?show=done&cursor=!!not-a-cursor")
    assert garbage.status_code == 200
    assert len(garbage.context["tasks"]) == 50


def test_empty_states(rep: User) -> None:
    client = client_for(rep)
    assert "No open tasks." in client.get(reverse("tasks:list")).content.decode()
    assert (
        "Nothing overdue." in client.get(reverse("tasks:list") + "?show=overdue").content.decode()
    )


# --- One-click actions: plain POST and htmx --------------------------------------------------


def test_complete_with_an_outcome_from_the_list_logs_the_note(
    rep: User, task: Task, lead: Lead
) -> None:
    back = reverse("tasks:list") + "?show=today"
    response = client_for(rep).post(
        reverse("tasks:complete", args=[task.pk]),
        {"outcome": "Wants a quote", "next": back, "version": task.version},
    )
    assert response.status_code == 302
    assert response["Location"] == back
    note = LeadNote.objects.get(lead=task.lead)
    assert (note.kind, note.outcome) == ("call", "Wants a quote")
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED


def test_htmx_actions_swap_the_row(rep: User, task: Task) -> None:
    client = client_for(rep)
    url = reverse("tasks:complete", args=[task.pk])
    response = client.post(url, {"part": "row", "version": task.version}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="task-{task.pk}"')
    assert "<html" not in html
    assert "Done: “Call Rita about pricing”." in html
    assert "Reopen" in html
    # A refusal shows in the row too (never a 500, nothing lost).
    refused = client.post(url, {"part": "row", "version": task.version + 1}, **HX)
    again = refused.content.decode()
    assert followups.TASK_ALREADY_DONE in again
    assert Task.objects.get(pk=task.pk).done_at is not None


def test_the_list_answers_htmx_with_its_results_only(rep: User, task: Task) -> None:
    response = client_for(rep).get(reverse("tasks:list") + "?show=upcoming", **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-results">')
    assert task.title in html
    assert '<nav class="navbar' not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(("shift", "days"), [("day", 1), ("week", 7)])
def test_reschedule_by_a_day_or_a_week_keeps_the_time_of_day(
    rep: User, task: Task, shift: str, days: int
) -> None:
    before = task.due_at
    client_for(rep).post(
        reverse("tasks:reschedule", args=[task.pk]), {"shift": shift, "version": task.version}
    )
    task.refresh_from_db()
    assert task.due_at == before + timedelta(days=days)


def test_reschedule_an_overdue_task_lands_after_today(rep: User) -> None:
    overdue = followups.task_create(
        actor=rep, title="Late", due_at=timezone.now() - timedelta(days=5)
    )
    client_for(rep).post(
        reverse("tasks:reschedule", args=[overdue.pk]),
        {"shift": "day", "version": overdue.version},
    )
    overdue.refresh_from_db()
    assert timezone.localdate(overdue.due_at) == timezone.localdate() + timedelta(days=1)


def test_reschedule_to_a_picked_time_in_the_users_timezone(team) -> None:
    berliner = make_user(email="berlin@example.com", timezone="Europe/Berlin")
    task = followups.task_create(actor=berliner, title="Pick", due_at=timezone.now())
    response = client_for(berliner).post(
        reverse("tasks:reschedule", args=[task.pk]),
        {"due_at": "2031-01-10T09:30", "version": task.version},
        follow=True,
    )
    task.refresh_from_db()
    assert task.due_at == datetime(2031, 1, 10, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert "is due Fri Jan 10, 09:30" in response.content.decode()


def test_the_reminder_email_failure_is_shown(rep: User) -> None:
    due = timezone.now() + timedelta(minutes=5)
    task = followups.task_create(actor=rep, title="Remind me", due_at=due)
    reminders_dispatch(at=due)
    Notification.objects.filter(user=rep).update(
        email_state=Notification.Email.FAILED, email_error="SMTPServerDisconnected: gone"
    )
    client = client_for(rep)
    message = "Reminder email failed: SMTPServerDisconnected: gone"
    assert message in client.get(reverse("tasks:list")).content.decode()
    assert message in client.get(reverse("tasks:detail", args=[task.pk])).content.decode()


# --- Create and edit -------------------------------------------------------------------------


def test_create_standalone_and_for_a_lead(rep: User, lead: Lead) -> None:
    client = client_for(rep)
    data = {
        "title": "Plan the week",
        "kind": "todo",
        "due_at": "2031-02-03T08:00",
        "remind_before": "",
    }
    response = client.post(reverse("tasks:create"), data)
    task = Task.objects.get(title="Plan the week")
    assert response["Location"] == task.get_absolute_url()
    assert (task.lead, task.reminder_state) == (None, Task.Reminder.NONE)

    response = client.post(
        reverse("tasks:create") + f"?lead={lead.pk}",
        {**data, "title": "Call back", "kind": "call", "remind_before": "60"},
    )
    assert response["Location"] == lead.get_absolute_url()
    task = Task.objects.get(title="Call back")
    assert task.lead == lead
    assert task.remind_at == task.due_at - timedelta(hours=1)


def test_the_panel_adds_a_task_with_htmx_and_without(rep: User, lead: Lead) -> None:
    client = client_for(rep)
    url = reverse("tasks:create") + f"?lead={lead.pk}"
    data = {"title": "Send pricing", "kind": "email", "due_at": "2031-02-03T08:00", "part": "panel"}
    response = client.post(url, data, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-3" id="tasks-panel"')
    assert "Send pricing" in html
    assert "Task “Send pricing” added" in html
    # Errors stay in the panel, with what was typed.
    response = client.post(url, {**data, "title": "Keep me", "due_at": "not a date"}, **HX)
    html = response.content.decode()
    assert 'id="tasks-panel"' in html
    assert 'value="Keep me"' in html
    assert "Enter a valid date/time." in html
    assert Task.objects.count() == 1
    # Without htmx: back to the lead.
    response = client.post(url, {**data, "title": "Plain"})
    assert response["Location"] == lead.get_absolute_url()
    assert Task.objects.count() == 2


def test_the_panel_is_on_the_lead_and_deal_pages(rep: User, lead: Lead, task: Task) -> None:
    client = client_for(rep)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="tasks-panel"' in html
    assert task.title in html
    assert "Outcome (logged on the lead)" in html
    assert 'name="assignee"' not in html  # reps give tasks to themselves only
    deal = make_deal(rep, email="deal@example.com")
    deal_task = followups.task_create(
        actor=rep, title="Deal call", kind="call", due_at=timezone.now(), deal=deal
    )
    html = client.get(reverse("deals:detail", args=[deal.pk])).content.decode()
    assert "Follow-up tasks for deals arrive" not in html
    assert deal_task.title in html
    assert "Outcome (logged on the deal)" in html


def test_a_managers_panel_offers_their_people(manager: User, rep: User, lead: Lead) -> None:
    html = client_for(manager).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'name="assignee"' in html
    assert f'<option value="{rep.pk}" selected>' in html  # the lead's owner by default


def test_completing_in_the_panel_with_an_outcome_reloads_the_page(rep: User, task: Task) -> None:
    response = client_for(rep).post(
        reverse("tasks:complete", args=[task.pk]),
        {"part": "panel", "outcome": "Booked a demo", "version": task.version},
        **HX,
    )
    assert response["HX-Refresh"] == "true"
    assert LeadNote.objects.get().outcome == "Booked a demo"


def test_a_closed_lead_refuses_a_task_with_the_services_message(
    rep: User, lead: Lead, reason: LostReason
) -> None:
    services.lead_change_status(lead=lead, actor=rep, status="lost", reason=reason)
    response = client_for(rep).post(
        reverse("tasks:create") + f"?lead={lead.pk}",
        {"title": "Too late", "kind": "call", "due_at": "2031-02-03T08:00"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert followups.TASK_RECORD_CLOSED.format(record=f"Lead {lead.number}") in html
    assert 'value="Too late"' in html
    assert not Task.objects.exists()


def test_edit_refuses_a_stale_version_and_keeps_the_input(rep: User, task: Task) -> None:
    client = client_for(rep)
    seen = task.version
    followups.task_update(task=task, actor=rep, title="Changed elsewhere")
    due = timezone.localtime(task.due_at).strftime("%Y-%m-%dT%H:%M")
    data = {
        "title": "My edit",
        "kind": "call",
        "due_at": due,
        "remind_before": "15",
        "version": seen,
    }
    response = client.post(reverse("tasks:edit", args=[task.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert followups.TASK_CONFLICT in html
    assert 'value="My edit"' in html
    assert Task.objects.get(pk=task.pk).title == "Changed elsewhere"
    # Saving again, now knowingly, goes through.
    data["version"] = seen + 1
    response = client.post(reverse("tasks:edit", args=[task.pk]), data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.remind_before) == ("My edit", 15)


# --- Garbage and CSRF ------------------------------------------------------------------------


def test_garbage_input_is_a_400_or_a_message_never_a_500(rep: User, task: Task) -> None:
    client = client_for(rep)
    assert client.get(reverse("tasks:create") + "?lead=abc").status_code == 400
    assert client.get(reverse("tasks:create") + "?deal=1;DROP").status_code == 400
    assert client.get(reverse("tasks:create") + "?lead=999999").status_code == 404
    assert client.get("/tasks/abc/").status_code == 404
    response = client.post(
        reverse("tasks:reschedule", args=[task.pk]),
        {"due_at": "31/31/31", "version": task.version},
        follow=True,
    )
    assert RESCHEDULE_BAD_INPUT in response.content.decode()
    response = client.post(
        reverse("tasks:reschedule", args=[task.pk]),
        {"shift": "year", "part": "row", "version": task.version},
        **HX,
    )
    assert RESCHEDULE_BAD_INPUT in response.content.decode()
    response = client.post(
        reverse("tasks:edit", args=[task.pk]),
        {"title": "x", "kind": "nonsense", "due_at": "tomorrow", "remind_before": "abc"},
    )
    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()
    response = client.post(
        reverse("tasks:complete", args=[task.pk]),
        {"outcome": "x" * 5000, "version": task.version},
        follow=True,
    )
    assert COMPLETE_BAD_INPUT in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is None


def test_actions_need_the_csrf_token(rep: User, task: Task) -> None:
    client = client_for(rep, enforce_csrf_checks=True)
    for name in ("complete", "reschedule", "reassign", "reopen", "edit"):
        response = client.post(reverse(f"tasks:{name}", args=[task.pk]), {"shift": "day"})
        assert response.status_code == 403, name
    assert client.post(reverse("tasks:create"), {"title": "x"}).status_code == 403
    task.refresh_from_db()
    assert task.done_at is None
    assert AuditEvent.objects.for_object(task).count() == 1


def test_actions_are_post_only(rep: User, task: Task) -> None:
    client = client_for(rep)
    for name in ("complete", "reschedule", "reassign", "reopen"):
        assert client.get(reverse(f"tasks:{name}", args=[task.pk])).status_code == 405


# --- The next action form can plan the task --------------------------------------------------


def test_next_action_forms_create_the_task_when_asked(rep: User, lead: Lead) -> None:
    client = client_for(rep)
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("leads:next_action", args=[lead.pk]),
        {
            "next_action": "Call to book a demo",
            "next_action_due": due,
            "version": lead.version,
            "create_task": "on",
        },
        follow=True,
    )
    assert "a follow-up task with a reminder created" in response.content.decode()
    task = Task.objects.get()
    assert (task.title, task.kind, task.lead, task.assignee) == (
        "Call to book a demo",
        "call",
        lead,
        rep,
    )
    deal = make_deal(rep, email="deal@example.com")
    client.post(
        reverse("deals:next_action", args=[deal.pk]),
        {
            "next_action": "Send contract",
            "next_action_due": due,
            "version": deal.version,
            "create_task": "on",
        },
    )
    assert Task.objects.get(deal=deal).title == "Send contract"
    client.post(
        reverse("leads:next_action", args=[lead.pk]),
        {"next_action": "No task", "next_action_due": due, "version": lead.version + 1},
    )
    assert Task.objects.count() == 2


# --- Query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize("actor", ["rep", "manager", "admin"])
def test_list_query_count_is_constant(
    request: pytest.FixtureRequest,
    django_assert_max_num_queries,
    actor: str,
    rows: int,
    rep: User,
    manager: User,
) -> None:
    lead = make_lead(rep, email="q@example.com")
    deal = make_deal(rep, email="qd@example.com")
    soon = timezone.now() + timedelta(minutes=5)
    for i in range(rows):
        record: dict[str, Lead | Deal] = {"lead": lead} if i % 2 else {"deal": deal}
        task = followups.task_create(
            actor=manager, assignee=rep, title=f"T{i}", due_at=soon, **record
        )
        if i % 3 == 0:
            followups.task_complete(task=task, actor=rep)
    reminders_dispatch(at=soon)
    client = client_for(request.getfixturevalue(actor))
    for query in ("?who=team", "?who=team&show=done", f"?who={rep.pk}"):
        with django_assert_max_num_queries(11):
            assert client.get(reverse("tasks:list") + query).status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 200


# --- One-click actions carry the version they were based on ---------------------------------

QUICK = {
    "complete": {},
    "reschedule": {"shift": "day"},
    "reassign": {},  # the assignee is filled in below
    "reopen": {},
}


def _quick_data(name: str, task: Task, manager: User) -> dict[str, object]:
    data: dict[str, object] = {**QUICK[name], "part": "row"}
    if name == "reassign":
        data["assignee"] = manager.pk
    return data


@pytest.mark.parametrize("name", list(QUICK))
def test_a_one_click_action_without_its_version_changes_nothing(
    manager: User, rep: User, task: Task, name: str
) -> None:
    if name == "reopen":
        followups.task_complete(task=task, actor=rep)
        task.refresh_from_db()
    before = Task.objects.values().get(pk=task.pk)
    response = client_for(manager).post(
        reverse(f"tasks:{name}", args=[task.pk]), _quick_data(name, task, manager), **HX
    )
    assert response.status_code == 200
    assert VERSION_MISSING in response.content.decode()
    assert Task.objects.values().get(pk=task.pk) == before


@pytest.mark.parametrize("name", list(QUICK))
def test_a_one_click_action_on_a_stale_row_is_refused_and_the_row_refreshed(
    manager: User, rep: User, task: Task, name: str
) -> None:
    if name == "reopen":
        followups.task_complete(task=task, actor=rep)
        task.refresh_from_db()
    seen = task.version
    # Someone else's save in the meantime (done tasks are not editable, so by hand).
    Task.objects.filter(pk=task.pk).update(title="Renamed meanwhile", version=seen + 1)
    data = {**_quick_data(name, task, manager), "version": seen}
    before = Task.objects.values().get(pk=task.pk)
    response = client_for(manager).post(reverse(f"tasks:{name}", args=[task.pk]), data, **HX)
    html = response.content.decode()
    assert followups.TASK_CONFLICT in html
    assert "Renamed meanwhile" in html  # the row now shows what is stored…
    assert f'name="version" value="{seen + 1}"' in html  # …and acts on it next time
    assert Task.objects.values().get(pk=task.pk) == before


def test_every_one_click_form_on_the_pages_sends_the_version(
    rep: User, task: Task, lead: Lead
) -> None:
    client = client_for(rep)
    for url in (reverse("tasks:list"), reverse("tasks:detail", args=[task.pk])):
        html = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*action=\"/tasks/\d+/\w+/\".*?</form>", html, re.S)
        assert len(forms) >= 3, url  # complete and the two reschedules at least
        for form in forms:
            assert f'name="version" value="{task.version}"' in form, form[:200]
    panel = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f'name="version" value="{task.version}"' in panel
