"""Celery tasks for the outbox. Named ``remind_*`` so they run on the reminders queue."""

from __future__ import annotations

from celery import shared_task

from crm import notifications


@shared_task
def remind_dispatch_emails() -> int:
    """Claim every due email (new ones, retries, expired claims) and enqueue them."""
    total = 0
    while claimed := notifications.dispatch_emails():
        total += len(claimed)
        if len(claimed) < notifications.settings.NOTIFICATION_DISPATCH_LIMIT:
            break
    return total


@shared_task
def remind_send_emails(ids: list[int]) -> int:
    return notifications.send_emails(ids)
