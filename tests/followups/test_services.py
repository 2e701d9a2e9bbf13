"""The task services: reminder times, who may hand out tasks, completing with an outcome,
reopening, rescheduling (the reminder follows), closed records, tasks following their
lead's owner, optimistic locking, and the next action that also plans a task."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.reminders import reminders_dispatch
from crm.models import AuditEvent, Notification
from deals import services as deal_services
from deals.models import Deal, DealNote
from leads import services
from leads.models import Lead, LeadNote, LostReason
from tests.deals.helpers import make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, first_name="Rita", company="Acme")


def later(**delta: float) -> datetime:
    return timezone.now() + timedelta(**delta)


def new_task(actor: User, **fields: object) -> Task:
    data: dict[str, object] = {
        "title": "Call Rita",
        "kind": Task.Kind.CALL,
        "due_at": later(days=1),
    }
    data.update(fields)
    return followups.task_create(actor=actor, **data)


# --- Creating: the reminder time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("remind_before", "state", "offset"),
    [
        (0, Task.Reminder.SCHEDULED, timedelta(0)),
        (15, Task.Reminder.SCHEDULED, timedelta(minutes=15)),
        (1440, Task.Reminder.SCHEDULED, timedelta(days=1)),
        (None, Task.Reminder.NONE, None),
    ],
)
def test_create_works_out_when_to_remind(
    rep: User, lead: Lead, remind_before: int | None, state: str, offset: timedelta | None
) -> None:
    due = later(days=2)
    task = new_task(rep, lead=lead, due_at=due, remind_before=remind_before)
    task.refresh_from_db()
    assert task.assignee == rep
    assert task.created_by == rep
    assert task.reminder_state == state
    assert task.remind_at == (None if offset is None else due - offset)
    assert [e.action for e in AuditEvent.objects.for_object(task)] == ["created"]


def test_turning_the_reminder_off_calls_it_off_and_on_again_schedules_it(
    rep: User, lead: Lead
) -> None:
    due = later(days=2)
    task = new_task(rep, lead=lead, due_at=due, remind_before=15)
    task = followups.task_update(task=task, actor=rep, remind_before=None)
    task.refresh_from_db()
    assert (task.reminder_state, task.remind_at) == (Task.Reminder.NONE, None)
    task = followups.task_update(task=task, actor=rep, remind_before=60)
    task.refresh_from_db()
    assert (task.reminder_state, task.remind_at) == (
        Task.Reminder.SCHEDULED,
        due - timedelta(hours=1),
    )


def test_create_needs_a_due_time_and_a_title(rep: User) -> None:
    with pytest.raises(ValidationError) as error:
        new_task(rep, due_at=None)
    assert error.value.messages == [followups.TASK_DUE_REQUIRED]
    with pytest.raises(ValidationError):
        new_task(rep, title="   ")
    assert not Task.objects.exists()


def test_a_rep_cannot_give_a_task_to_someone_else(rep: User, rep_b: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        new_task(rep, assignee=rep_b)
    assert error.value.messages == [followups.TASK_ASSIGN_NOT_ALLOWED]
    task = new_task(rep, lead=lead)
    with pytest.raises(ValidationError) as error:
        followups.task_reassign(task=task, actor=rep, assignee=rep_b)
    assert error.value.messages == [followups.TASK_ASSIGN_NOT_ALLOWED]
    task.refresh_from_db()
    assert task.assignee == rep


def test_a_manager_hands_tasks_to_their_people_only(
    manager: User, rep: User, rep_b: User, other_manager: User, lead: Lead
) -> None:
    # A plain to-do: one on rep A's lead could not go to rep B (see test_task_records).
    task = new_task(manager, assignee=rep)
    assert task.assignee == rep
    told = Notification.objects.get(user=rep)
    assert told.kind == Notification.Kind.ASSIGNED
    assert told.url == task.get_absolute_url()
    followups.task_reassign(task=task, actor=manager, assignee=rep_b)
    task.refresh_from_db()
    assert task.assignee == rep_b
    event = AuditEvent.objects.for_object(task).get(action="assigned")
    assert event.changes == {"assignee": [str(rep), str(rep_b)]}
    assert Notification.objects.filter(user=rep_b, kind="assigned").count() == 1
    with pytest.raises(ValidationError) as error:
        followups.task_reassign(task=task, actor=manager, assignee=other_manager)
    assert error.value.messages == [services.ASSIGNEE_OUT_OF_SCOPE.format(user=other_manager)]


def test_a_rep_plans_nothing_on_someone_elses_lead(rep_b: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        new_task(rep_b, lead=lead)
    assert error.value.messages == [services.NOT_YOUR_LEAD.format(owner=lead.owner)]


def test_a_closed_lead_or_deal_gets_no_new_task(
    rep: User, lead: Lead, reason: LostReason, stages: object
) -> None:
    lead = services.lead_change_status(lead=lead, actor=rep, status="lost", reason=reason)
    with pytest.raises(ValidationError) as error:
        new_task(rep, lead=lead)
    assert error.value.messages == [
        followups.TASK_RECORD_CLOSED.format(record=f"Lead {lead.number}")
    ]
    deal = make_deal(rep, email="won@example.com")
    deal_services.deal_move_stage(deal=deal, actor=rep, stage=stages["Won"])  # type: ignore[index]
    with pytest.raises(ValidationError) as error:
        new_task(rep, deal=Deal.objects.get(pk=deal.pk))
    assert error.value.messages == [
        followups.TASK_RECORD_CLOSED.format(record=f"Deal “{deal.title}”")
    ]
    assert not Task.objects.exists()


@pytest.fixture
def stages(db: None) -> object:
    from tests.deals.helpers import ensure_stages

    return ensure_stages()


# --- Completing ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["call", "email", "meeting"])
def test_completing_a_contact_task_with_an_outcome_logs_it_and_counts_as_first_contact(
    rep: User, lead: Lead, kind: str
) -> None:
    assert lead.status == Lead.Status.NEW
    task = new_task(rep, lead=lead, kind=kind, title="Intro")
    done = followups.task_complete(task=task, actor=rep, outcome="  Interested; wants a quote ")
    assert done.done_at is not None
    assert done.done_by == rep
    note = LeadNote.objects.get(lead=lead)
    assert note.kind == kind
    assert note.author == rep
    assert note.body == "Intro\n\nInterested; wants a quote"
    assert note.outcome == "Interested; wants a quote"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    assert lead.first_contacted_at == note.created_at
    assert lead.first_response_time == note.created_at - lead.created_at


def test_completing_without_an_outcome_or_a_to_do_logs_nothing(rep: User, lead: Lead) -> None:
    followups.task_complete(task=new_task(rep, lead=lead), actor=rep)
    todo = new_task(rep, lead=lead, kind=Task.Kind.TODO)
    followups.task_complete(task=todo, actor=rep, outcome="Done it")
    assert not LeadNote.objects.exists()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_completing_a_deal_task_logs_the_outcome_on_the_deal(rep: User, stages: object) -> None:
    deal = make_deal(rep, email="deal@example.com")
    task = new_task(rep, deal=deal, kind=Task.Kind.MEETING, title="Proposal review")
    followups.task_complete(task=task, actor=rep, outcome="They sign next week")
    note = DealNote.objects.get(deal=deal)
    assert note.kind == "meeting"
    assert "They sign next week" in note.body


def test_completing_twice_is_refused_and_the_reminder_is_cancelled(rep: User) -> None:
    task = new_task(rep, remind_before=15)
    followups.task_complete(task=task, actor=rep)
    task.refresh_from_db()
    assert task.reminder_state == Task.Reminder.CANCELED
    assert task.remind_at is None
    with pytest.raises(ValidationError) as error:
        followups.task_complete(task=task, actor=rep)
    assert error.value.messages == [followups.TASK_ALREADY_DONE]
    assert reminders_dispatch(at=later(days=3)) == 0


def test_reopen_brings_back_the_task_and_its_reminder(rep: User) -> None:
    task = new_task(rep, remind_before=60)
    with pytest.raises(ValidationError) as error:
        followups.task_reopen(task=task, actor=rep)
    assert error.value.messages == [followups.TASK_NOT_DONE]
    followups.task_complete(task=task, actor=rep)
    reopened = followups.task_reopen(task=task, actor=rep)
    reopened.refresh_from_db()
    assert reopened.done_at is None
    assert reopened.done_by is None
    assert reopened.reminder_state == Task.Reminder.SCHEDULED
    assert reopened.remind_at == reopened.due_at - timedelta(minutes=60)
    actions = [e.action for e in AuditEvent.objects.for_object(task).order_by("id")]
    assert actions == ["created", "completed", "reopened"]


# --- Rescheduling ----------------------------------------------------------------------------


def test_reschedule_moves_the_reminder_and_a_sent_one_is_sent_again(rep: User) -> None:
    due = later(minutes=30)
    task = new_task(rep, due_at=due, remind_before=15)
    assert reminders_dispatch(at=due) == 1
    task.refresh_from_db()
    assert task.reminder_state == Task.Reminder.SENT

    new_due = later(days=2)
    followups.task_reschedule(task=task, actor=rep, due_at=new_due)
    task.refresh_from_db()
    assert task.due_at == new_due
    assert task.remind_at == new_due - timedelta(minutes=15)
    assert task.reminder_state == Task.Reminder.SCHEDULED
    assert reminders_dispatch(at=due) == 0  # not due again before its new time
    assert reminders_dispatch(at=new_due) == 1
    keys = set(Notification.objects.filter(user=rep, kind="reminder").values_list("key", flat=True))
    assert len(keys) == 2  # one reminder per reminder time


def test_reschedule_needs_a_time_and_an_open_task(rep: User) -> None:
    task = new_task(rep)
    with pytest.raises(ValidationError) as error:
        followups.task_reschedule(task=task, actor=rep, due_at=None)
    assert error.value.messages == [followups.TASK_DUE_REQUIRED]
    followups.task_complete(task=task, actor=rep)
    with pytest.raises(ValidationError) as error:
        followups.task_reschedule(task=task, actor=rep, due_at=later(days=3))
    assert error.value.messages == [followups.TASK_ALREADY_DONE]


def test_a_stale_edit_is_refused(rep: User) -> None:
    task = new_task(rep)
    seen = task.version
    followups.task_update(task=task, actor=rep, expected_version=seen, title="Call Rita today")
    with pytest.raises(followups.TaskConflict) as conflict:
        followups.task_update(task=task, actor=rep, expected_version=seen, title="Mine")
    assert str(conflict.value) == followups.TASK_CONFLICT
    task.refresh_from_db()
    assert task.title == "Call Rita today"
    assert task.version == seen + 1


# --- Tasks follow their lead -----------------------------------------------------------------


def test_reassigning_the_lead_moves_its_open_tasks(
    manager: User, rep: User, rep_b: User, lead: Lead
) -> None:
    open_task = new_task(rep, lead=lead)
    done_task = new_task(rep, lead=lead, title="Old call")
    followups.task_complete(task=done_task, actor=rep)
    elsewhere = new_task(rep, title="Not this lead's")
    services.lead_assign_owner(lead=lead, actor=manager, owner=rep_b)
    assert Task.objects.get(pk=open_task.pk).assignee == rep_b
    assert Task.objects.get(pk=done_task.pk).assignee == rep  # who did it stays
    assert Task.objects.get(pk=elsewhere.pk).assignee == rep


# --- The next action can plan the task -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Call to book a demo", "call"),
        ("email: the pricing sheet", "email"),
        ("Meeting with their CFO", "meeting"),
        ("Send the proposal", "todo"),
        ("", "todo"),
    ],
)
def test_task_kind_for(text: str, kind: str) -> None:
    assert followups.task_kind_for(text) == kind


def test_next_action_with_create_task_plans_a_task_for_the_owner(
    manager: User, rep: User, lead: Lead
) -> None:
    due = later(days=1)
    followups.next_action_set(
        record=lead, actor=manager, next_action="Call to book a demo", due=due, create_task=True
    )
    task = Task.objects.get()
    assert (task.title, task.kind, task.due_at, task.lead) == (
        "Call to book a demo",
        "call",
        due,
        lead,
    )
    assert task.assignee == rep  # the lead's owner, not the manager who planned it
    assert task.created_by == manager
    assert task.reminder_state == Task.Reminder.SCHEDULED
    assert task.remind_at == due
    # Without the option, or when clearing the next action, no task.
    services.lead_set_next_action(lead=lead, actor=rep, next_action="Later", due=due)
    followups.next_action_set(record=lead, actor=rep, next_action="", due=None, create_task=True)
    assert Task.objects.count() == 1


def test_next_action_task_on_a_pool_lead_is_the_actors(manager: User) -> None:
    pooled = make_lead(manager, email="pool@example.com")
    assert pooled.owner is None
    followups.next_action_set(
        record=pooled, actor=manager, next_action="Qualify", due=later(hours=3), create_task=True
    )
    assert Task.objects.get().assignee == manager


def test_deal_next_action_with_create_task(rep: User, stages: object) -> None:
    deal = make_deal(rep, email="next@example.com")
    due = later(days=2)
    followups.next_action_set(
        record=deal, actor=rep, next_action="Email the contract", due=due, create_task=True
    )
    task = Task.objects.get(deal=deal)
    assert (task.title, task.kind, task.assignee, task.due_at) == (
        "Email the contract",
        "email",
        rep,
        due,
    )
