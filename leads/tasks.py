"""Periodic scans run by beat (see CELERY_BEAT_SCHEDULE). Each is safe to run twice at
once: the rows it acts on are claimed with row locks in the transaction that acts."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from leads import reminders


@shared_task
def remind_tasks_due() -> int:
    total = 0
    while taken := reminders.reminders_dispatch():
        total += taken
        if taken < settings.NOTIFICATION_DISPATCH_LIMIT:
            break
    return total
