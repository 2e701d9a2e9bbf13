"""Demo follow-ups for ``seed_demo``: ~60 tasks across the demo reps and the manager, on
their demo leads and deals — overdue, due today, upcoming and done — and a few reminders
already sent, so the task list and the bell have something to show.

Made through the services (``task_create``, ``task_complete``) by the people who would
have made them (the manager hands some to the reps, which tells them under the bell), and
the due reminders go out through the reminder scan itself (``reminders_dispatch``). As in
``leads.demo``, what the services stamped "now" is then moved back to when it is meant to
have happened (demo data only): creation a few days before the due time, completion around
it. Deterministic but for the dates, which follow today: titles come from
``random.Random(SEED)``, due times from a stream of their own (how many draws they take
depends on the time of day), and the records are picked in an order the clock cannot
change. Idempotent: nothing is made once any demo user has a task.
"""

from __future__ import annotations

import random
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.timezone import now

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.reminders import reminders_dispatch
from crm.models import AuditEvent, Notification
from deals.models import Deal
from leads.models import Lead

SEED = 2027
TITLES = {
    Task.Kind.CALL: [
        "Call to book a demo",
        "Call back about the budget",
        "Call to confirm the decision date",
        "Check-in call after the trial",
    ],
    Task.Kind.EMAIL: [
        "Email the pricing sheet",
        "Email the case study they asked for",
        "Email a recap of the call",
        "Email the security questionnaire answers",
    ],
    Task.Kind.MEETING: [
        "Meeting: product walkthrough",
        "Meeting: proposal review with their team",
        "Meeting: onboarding plan",
    ],
    Task.Kind.TODO: [
        "Prepare the proposal",
        "Update the quote with the new seat count",
        "Ask finance about payment terms",
        "Research their current vendor",
    ],
}
KINDS = [Task.Kind.CALL, Task.Kind.EMAIL, Task.Kind.CALL, Task.Kind.MEETING, Task.Kind.TODO]


@dataclass(frozen=True)
class Plan:
    """One task: when it is due relative to today, its reminder, and whether it is done."""

    when: str  # "overdue", "today", "upcoming" or "done"
    days: int  # days from today (negative: in the past)
    remind_before: int | None
    reminded: bool = False  # an overdue task whose reminder has gone out


# Per person: 5 overdue (2 of them reminded), 4 today, 7 upcoming, 4 done.
PLANS = [
    Plan("overdue", -1, 0, reminded=True),
    Plan("overdue", -2, 60, reminded=True),
    Plan("overdue", -3, None),
    Plan("overdue", -5, None),
    Plan("overdue", -1, None),
    Plan("today", 0, 15),
    Plan("today", 0, 60),
    Plan("today", 0, 0),
    Plan("today", 0, None),
    Plan("upcoming", 1, 15),
    Plan("upcoming", 1, 1440),
    Plan("upcoming", 2, 60),
    Plan("upcoming", 3, 0),
    Plan("upcoming", 5, 60),
    Plan("upcoming", 7, None),
    Plan("upcoming", 10, 1440),
    Plan("done", -1, 0),
    Plan("done", -2, 15),
    Plan("done", -4, None),
    Plan("done", -8, 60),
]


def demo_tasks_exist(people: list[User]) -> bool:
    return Task.objects.filter(assignee__in=people).exists()


def _due(person: User, plan: Plan, rng: random.Random, current: datetime) -> datetime:
    """A working-hours time on the planned day, in the person's own timezone; today's are
    later than now where the day allows, so they are due today and not yet overdue."""
    tz = zoneinfo.ZoneInfo(person.timezone or "UTC")
    local_now = current.astimezone(tz)
    day = local_now.date() + timedelta(days=plan.days)
    due = datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))), tzinfo=tz)
    if plan.when == "today" and due <= local_now + timedelta(minutes=30):
        later = local_now + timedelta(minutes=rng.randint(45, 300))
        due = later if later.date() == day else local_now.replace(hour=23, minute=45)
    if plan.when == "overdue" and due >= current:
        due = current - timedelta(hours=rng.randint(2, 20))
    return due


@transaction.atomic
def seed_tasks(*, admin: User, manager: User, rep1: User, rep2: User) -> int:
    """Create the demo tasks unless there are some already. Returns how many were made."""
    people = [rep1, rep2, manager]
    if demo_tasks_exist(people):
        return 0
    rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
    clock = random.Random(SEED + 1)  # noqa: S311
    current = now()
    made: list[tuple[Task, Plan]] = []
    for person in people:
        leads = list(
            Lead.objects.open().filter(owner=person).select_related("owner").order_by("pk")[:12]
        )
        # By title: the demo deals are made in the order the clock converts them.
        deals = list(
            Deal.objects.filter(owner=person, closed_at__isnull=True)
            .select_related("owner")
            .order_by("title", "pk")[:8]
        )
        for index, plan in enumerate(PLANS):
            kind = KINDS[index % len(KINDS)]
            record: Lead | Deal | None = None
            if index % 7 != 6:  # every seventh is a plain to-do of its own
                pool: list[Lead] | list[Deal] = leads if index % 3 != 2 else deals
                record = pool[index % len(pool)] if pool else None
            # The manager plans some of the reps' follow-ups for them.
            actor = manager if person != manager and index % 4 == 1 else person
            task = followups.task_create(
                actor=actor,
                title=rng.choice(TITLES[kind]),
                kind=kind,
                due_at=_due(person, plan, clock, current),
                assignee=person,
                lead=record if isinstance(record, Lead) else None,
                deal=record if isinstance(record, Deal) else None,
                remind_before=plan.remind_before,
            )
            made.append((task, plan))
    # Done first: a finished task's reminder is cancelled, so the scan leaves it alone.
    for task, plan in made:
        if plan.when == "done":
            followups.task_complete(task=task, actor=task.assignee)
    _send_due_reminders([task for task, plan in made if plan.reminded])
    _backdate(made, current)
    return len(made)


def _send_due_reminders(tasks: list[Task]) -> None:
    """Through the reminder scan itself, each at its own reminder time (oldest first)."""
    for task in sorted(tasks, key=lambda task: task.remind_at or task.due_at):
        reminders_dispatch(at=task.remind_at)


def _backdate(made: list[tuple[Task, Plan]], current: datetime) -> None:
    """DEMO DATA ONLY: made a few days before it was due (never in the future), done
    around the due time; the history follows."""
    task_type = ContentType.objects.get_for_model(Task)
    for task, plan in made:
        created = min(task.due_at - timedelta(days=3, hours=task.pk % 7), current)
        created = min(created, current - timedelta(hours=1))
        done = min(task.due_at + timedelta(minutes=20), current - timedelta(minutes=30))
        updates: dict[str, datetime] = {"created_at": created, "updated_at": created}
        if plan.when == "done":
            updates.update(done_at=done, updated_at=done)
        Task.objects.filter(pk=task.pk).update(**updates)
        events = AuditEvent.objects.filter(target_type=task_type, target_id=task.pk)
        events.filter(action=AuditEvent.Action.CREATED).update(occurred_at=created)
        events.exclude(action=AuditEvent.Action.CREATED).update(occurred_at=updates["updated_at"])
        Notification.objects.filter(
            target_type=task_type, target_id=task.pk, kind=Notification.Kind.ASSIGNED
        ).update(created_at=created)
