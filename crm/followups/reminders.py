"""Task reminders: find the due ones and turn each into a notification, exactly once.

The scan locks the due tasks with ``FOR UPDATE SKIP LOCKED``, creates their notifications
(the bell, and an email in the outbox) and marks the reminders sent, all in one
transaction. A second scan running at the same moment — a second beat, a redelivered
message — skips the locked rows, and finds them marked sent once the first commits.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now

from crm.followups.models import Task
from crm.models import Notification
from crm.notifications import build_notification, notify_many, render_email


def reminder_key(task: Task) -> str:
    # A rescheduled task has a new reminder time, and so a new reminder.
    remind_at = task.remind_at.isoformat() if task.remind_at else "none"
    return f"task:{task.pk}:reminder:{remind_at}"


def reminder_notification(task: Task, at: datetime) -> Notification:
    url = task.get_absolute_url()  # once: reverse() is a noticeable share of a 10k scan
    context = {"task": task, "record": task.record, "url": url}
    email = render_email("task_reminder", context, user=task.assignee)
    return build_notification(
        user=task.assignee,
        kind=Notification.Kind.REMINDER,
        key=reminder_key(task),
        title=email.subject,
        url=url,
        target=task,
        email=email,
        at=at,
    )


def reminders_dispatch(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Send the reminders due by ``at`` (default now); returns how many this call took."""
    at = at or now()
    limit = limit or settings.NOTIFICATION_DISPATCH_LIMIT
    with transaction.atomic():
        tasks = list(
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(reminder_state=Task.Reminder.SCHEDULED, remind_at__lte=at)
            .select_related("assignee", "lead", "deal")
            .order_by("remind_at", "id")[:limit]
        )
        if not tasks:
            return 0
        notify_many([reminder_notification(task, at) for task in tasks])
        Task.objects.filter(pk__in=[task.pk for task in tasks]).update(
            reminder_state=Task.Reminder.SENT
        )
    return len(tasks)
