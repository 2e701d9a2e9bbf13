"""Every change to a follow-up task goes through these functions: the task pages, the
next-action forms of leads and deals, the demo and the record signals (``receivers``)
call them, and each records its own history in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from accounts.models import User
from crm.followups.models import Task
from crm.models import AuditEvent, Notification, audit, full_clean_given, save_checked
from crm.notifications import notify
from deals.models import Deal
from deals.services import deal_add_note, deal_set_next_action
from leads.models import Lead
from leads.services import (
    can_assign,
    can_work_on,
    check_assignee,
    lead_add_note,
    lead_set_next_action,
    require_work,
)

TASK_ALREADY_DONE = "This task is already done."
TASK_NOT_DONE = "This task is still open."
TASK_ASSIGN_NOT_ALLOWED = "Only managers and admins can give a task to someone else."
TASK_DUE_REQUIRED = "Give the task a due date and time."
TASK_RECORD_CLOSED = "{record} is closed; reopen it before planning work on it."
TASK_CONFLICT = "Someone else changed this task while you were looking at it."
TASK_ASSIGNEE_CANNOT_SEE = (
    "{user} cannot work on {record}, so the task cannot be theirs: give it to its owner "
    "or to someone who sees their records."
)
TASK_FIELDS = ["title", "kind", "due_at", "notes", "remind_before"]


def task_kind_for(text: str) -> str:
    """A next action that starts "Call…", "Email…" or "Meet…" is that kind of task (so
    completing it offers to log the outcome); anything else is a to-do."""
    first = (text.strip().split() or [""])[0].lower().strip(".,:;!")
    if first in ("call", "phone", "ring"):
        return Task.Kind.CALL
    if first in ("email", "e-mail", "mail"):
        return Task.Kind.EMAIL
    if first in ("meet", "meeting", "visit", "demo"):
        return Task.Kind.MEETING
    return Task.Kind.TODO


def task_for_next_action(*, record: Lead | Deal, actor: User) -> Task:
    """The follow-up task for a lead's or deal's next action, for the record's owner."""
    return task_create(
        actor=actor,
        title=record.next_action,
        due_at=record.next_action_due,
        kind=task_kind_for(record.next_action),
        assignee=record.owner or actor,
        lead=record if isinstance(record, Lead) else None,
        deal=record if isinstance(record, Deal) else None,
    )


class TaskConflict(Exception):
    def __init__(self, task: Task) -> None:
        super().__init__(TASK_CONFLICT)
        self.task = task


def _schedule_reminder(task: Task) -> None:
    """Remind ``remind_before`` minutes before the due time; a reminder still waiting when
    the task is done, or no longer wanted, is called off (a sent one stays on record)."""
    if task.done_at is None and task.remind_before is not None:
        task.remind_at = task.due_at - timedelta(minutes=task.remind_before)
        task.reminder_state = Task.Reminder.SCHEDULED
    elif task.reminder_state == Task.Reminder.SCHEDULED:
        task.remind_at = None
        task.reminder_state = Task.Reminder.CANCELED if task.done_at else Task.Reminder.NONE


def _check_task_assignee(actor: User, assignee: User) -> None:
    if assignee.pk == actor.pk:
        return
    if not can_assign(actor):
        raise ValidationError(TASK_ASSIGN_NOT_ALLOWED)
    check_assignee(actor, assignee)


def _check_task_record(actor: User, lead: Lead | None, deal: Deal | None) -> None:
    if lead is not None:
        require_work(actor, lead)
        if not lead.is_open:
            raise ValidationError(TASK_RECORD_CLOSED.format(record=f"Lead {lead.number}"))
    if deal is not None:
        require_work(actor, deal)
        if deal.closed_at is not None:
            raise ValidationError(TASK_RECORD_CLOSED.format(record=f"Deal “{deal.title}”"))


def _record_name(lead: Lead | None, deal: Deal | None) -> str:
    return f"lead {lead.number}" if lead is not None else f"deal “{deal.title}”" if deal else ""


def _check_assignee_sees_record(assignee: User, lead: Lead | None, deal: Deal | None) -> None:
    """A task's record must be one its assignee can open and work on, or the task page
    would name a record whose link is a 404 to them (``visible_to`` is the one rule: for a
    rep, their own records and their teams' unassigned pool)."""
    for record, queryset in ((lead, Lead.objects), (deal, Deal.objects)):
        if record is None:
            continue
        if not queryset.visible_to(assignee).filter(pk=record.pk).exists() or (
            record.owner_id is not None and not can_work_on(assignee, record)
        ):
            raise ValidationError(
                TASK_ASSIGNEE_CANNOT_SEE.format(user=assignee, record=_record_name(lead, deal))
            )


def _locked_task(task: Task, expected_version: int | None) -> Task:
    locked = Task.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=task.pk)
    if expected_version is not None and locked.version != expected_version:
        raise TaskConflict(locked)
    return locked


def _save_task(task: Task, *, actor: User | None, action: str, before: dict[str, Any]) -> Task:
    task.version += 1
    task.updated_at = now()
    full_clean_given(task, validate_constraints=False)
    save_checked(task)
    # A related record (the assignee) is kept in the history as its name, as shown.
    after = {
        name: str(value) if isinstance(value, User) else value
        for name in before
        for value in [getattr(task, name)]
    }
    changes = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    audit(target=task, actor=actor, action=AuditEvent.Action(action), changes=changes)
    return task


@transaction.atomic
def task_create(
    *,
    actor: User,
    title: str,
    due_at: datetime | None,
    kind: str = Task.Kind.TODO,
    assignee: User | None = None,
    lead: Lead | None = None,
    deal: Deal | None = None,
    notes: str = "",
    remind_before: int | None = 0,
) -> Task:
    """Plan a follow-up. Reps plan their own; managers may give one to their people."""
    if due_at is None:
        raise ValidationError(TASK_DUE_REQUIRED)
    assignee = assignee or actor
    _check_task_assignee(actor, assignee)
    _check_task_record(actor, lead, deal)
    _check_assignee_sees_record(assignee, lead, deal)
    task = Task(
        title=title.strip(),
        kind=kind,
        due_at=due_at,
        assignee=assignee,
        lead=lead,
        deal=deal,
        notes=notes.strip(),
        remind_before=remind_before,
        created_by=actor,
    )
    _schedule_reminder(task)
    full_clean_given(task, validate_constraints=False)
    save_checked(task)
    audit(target=task, actor=actor, action=AuditEvent.Action.CREATED)
    if assignee.pk != actor.pk:
        _tell_assignee(task, actor)
    return task


@transaction.atomic
def task_update(
    *, task: Task, actor: User, expected_version: int | None = None, **fields: Any
) -> Task:
    """Change a task's title, kind, due time, notes or reminder."""
    task = _locked_task(task, expected_version)
    if task.done_at is not None:
        raise ValidationError(TASK_ALREADY_DONE)
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise TypeError(f"task_update cannot change {', '.join(sorted(unknown))}")
    if "due_at" in fields and fields["due_at"] is None:
        raise ValidationError(TASK_DUE_REQUIRED)
    before = {name: getattr(task, name) for name in fields}
    for name, value in fields.items():
        setattr(task, name, value.strip() if isinstance(value, str) else value)
    if {"due_at", "remind_before"} & set(fields):
        _schedule_reminder(task)
    return _save_task(task, actor=actor, action=AuditEvent.Action.UPDATED, before=before)


def task_reschedule(
    *, task: Task, actor: User, due_at: datetime | None, expected_version: int | None = None
) -> Task:
    """Move the due time; the reminder moves with it (and is sent again if it had been)."""
    return task_update(task=task, actor=actor, expected_version=expected_version, due_at=due_at)


@transaction.atomic
def task_reassign(
    *, task: Task, actor: User, assignee: User, expected_version: int | None = None
) -> Task:
    if not can_assign(actor):
        raise ValidationError(TASK_ASSIGN_NOT_ALLOWED)
    check_assignee(actor, assignee)
    task = _locked_task(task, expected_version)
    if task.done_at is not None:
        raise ValidationError(TASK_ALREADY_DONE)
    if task.assignee_id == assignee.pk:
        return task
    _check_assignee_sees_record(assignee, task.lead, task.deal)
    before = {"assignee": str(task.assignee)}
    task.assignee = assignee
    _save_task(task, actor=actor, action=AuditEvent.Action.ASSIGNED, before=before)
    if assignee.pk != actor.pk:
        _tell_assignee(task, actor)
    return task


@transaction.atomic
def task_complete(
    *, task: Task, actor: User, outcome: str = "", expected_version: int | None = None
) -> Task:
    """Mark done. For a call, email or meeting on a lead or deal, an outcome is logged
    on its timeline as that kind of note (a lead's first contact counts from it)."""
    task = _locked_task(task, expected_version)
    if task.done_at is not None:
        raise ValidationError(TASK_ALREADY_DONE)
    before = {"done_at": None}
    task.done_at = now()
    task.done_by = actor
    _schedule_reminder(task)
    _save_task(task, actor=actor, action=AuditEvent.Action.COMPLETED, before=before)
    outcome = outcome.strip()
    if outcome and task.kind in Task.CONTACT_KINDS:
        kind = task.kind
        body = f"{task.title}\n\n{outcome}" if outcome != task.title else outcome
        if task.lead is not None:
            lead_add_note(lead=task.lead, actor=actor, kind=kind, body=body, outcome=outcome[:200])
        elif task.deal is not None:
            deal_add_note(deal=task.deal, actor=actor, kind=kind, body=body)
    return task


@transaction.atomic
def task_reopen(*, task: Task, actor: User, expected_version: int | None = None) -> Task:
    task = _locked_task(task, expected_version)
    if task.done_at is None:
        raise ValidationError(TASK_NOT_DONE)
    before = {"done_at": task.done_at}
    task.done_at = None
    task.done_by = None
    if task.reminder_state == Task.Reminder.CANCELED:
        _schedule_reminder(task)
    return _save_task(task, actor=actor, action=AuditEvent.Action.REOPENED, before=before)


def _tell_assignee(task: Task, actor: User) -> None:
    notify(
        user=task.assignee,
        kind=Notification.Kind.ASSIGNED,
        key=f"task:{task.pk}:assigned:{task.version}",
        title=f"{actor} gave you a task: {task.title}",
        url=task.get_absolute_url(),
        target=task,
    )


def _stranded_assignees(tasks: Any, owner: User) -> list[int]:
    """Assignees of ``tasks`` who will not see a record owned by ``owner``: reps other than
    the owner, managers outside the owner's teams (``User.objects.visible_to``'s rule, as
    a record follows its owner's team)."""
    assignees = User.objects.filter(pk__in=tasks.values("assignee_id")).exclude(pk=owner.pk)
    return [
        person.pk
        for person in assignees
        if not User.objects.visible_to(person).filter(pk=owner.pk).exists()
    ]


def move_open_tasks(
    record: Lead | Deal, *, old_owner_id: int | None, new_owner: User | None
) -> int:
    """When a lead or deal changes hands, its open follow-ups go with it: the old owner's,
    and anyone else's who could no longer open the record (a rep's task on a pool lead
    that someone has now taken)."""
    if new_owner is None:
        return 0
    tasks = (
        Task.objects.filter(lead=record)
        if isinstance(record, Lead)
        else Task.objects.filter(deal=record)
    ).open()
    moving = {*_stranded_assignees(tasks, new_owner)}
    if old_owner_id is not None:
        moving.add(old_owner_id)
    return tasks.filter(assignee_id__in=moving).update(assignee=new_owner, updated_at=now())


@transaction.atomic
def next_action_set(
    *,
    record: Lead | Deal,
    actor: User,
    next_action: str,
    due: datetime | None,
    expected_version: int | None = None,
    create_task: bool = False,
) -> Lead | Deal:
    """Set (or clear) a lead's or deal's next action through its own service; with
    ``create_task``, the next action also becomes a follow-up task for the record's owner
    (or the actor), reminded at its due time, in the same transaction."""
    changed: Lead | Deal
    if isinstance(record, Lead):
        changed = lead_set_next_action(
            lead=record,
            actor=actor,
            next_action=next_action,
            due=due,
            expected_version=expected_version,
        )
    else:
        changed = deal_set_next_action(
            deal=record,
            actor=actor,
            next_action=next_action,
            due=due,
            expected_version=expected_version,
        )
    if create_task and changed.next_action:
        task_for_next_action(record=changed, actor=actor)
    return changed


def tasks_move_to_deal(*, lead: Lead, deal: Deal, at: datetime) -> int:
    """A converted lead is read-only: its open follow-ups carry on on the deal (with its
    owner, for anyone who could not open the deal)."""
    tasks = Task.objects.filter(lead=lead).open()
    if deal.owner is not None:
        stranded = _stranded_assignees(tasks, deal.owner)
        tasks.filter(assignee_id__in=stranded).update(assignee=deal.owner, updated_at=at)
    return tasks.update(lead=None, deal=deal, updated_at=at)


def tasks_follow_merge(*, survivor: Lead, others: list[Lead]) -> dict[str, dict[str, list[int]]]:
    """Merged leads' follow-ups (open and done) carry on on the survivor. An open one whose
    assignee could not open the survivor goes to its owner, as when a lead changes hands.
    Returns what moved, for undo: tasks by lead, and reassigned tasks by old assignee."""
    moved: dict[str, list[int]] = {}
    for pk, lead_id in Task.objects.filter(lead__in=others).values_list("pk", "lead_id"):
        moved.setdefault(str(lead_id), []).append(pk)
    ids = [pk for pks in moved.values() for pk in pks]
    reassigned: dict[str, list[int]] = {}
    if ids and survivor.owner is not None:
        open_tasks = Task.objects.filter(pk__in=ids).open()
        stranded = _stranded_assignees(open_tasks, survivor.owner)
        for pk, assignee_id in open_tasks.filter(assignee_id__in=stranded).values_list(
            "pk", "assignee_id"
        ):
            reassigned.setdefault(str(assignee_id), []).append(pk)
        open_tasks.filter(assignee_id__in=stranded).update(assignee=survivor.owner)
    if ids:
        Task.objects.filter(pk__in=ids).update(lead=survivor, updated_at=now())
    return {"tasks": moved, "task_assignees": reassigned}


def tasks_unfollow_merge(*, survivor: Lead, moved: dict[str, dict[str, list[int]]]) -> None:
    """Undoing a merge: each moved follow-up goes back to the lead it came from, and to the
    person it was assigned to."""
    at = now()
    for lead_id, pks in moved.get("tasks", {}).items():
        Task.objects.filter(pk__in=pks, lead=survivor).update(lead_id=int(lead_id), updated_at=at)
    for assignee_id, pks in moved.get("task_assignees", {}).items():
        Task.objects.filter(pk__in=pks).update(assignee_id=int(assignee_id), updated_at=at)
