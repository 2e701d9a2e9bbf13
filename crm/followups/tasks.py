"""Periodic scans run by beat (see CELERY_BEAT_SCHEDULE). Each is safe to run twice at
once: the rows it acts on are claimed with row locks in the transaction that acts, and
every notification has a key that is unique for its user."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from crm.followups import digest, reminders


@shared_task
def remind_tasks_due() -> int:
    total = 0
    while taken := reminders.reminders_dispatch():
        total += taken
        if taken < settings.NOTIFICATION_DISPATCH_LIMIT:
            break
    return total


@shared_task
def remind_digests() -> int:
    """Each user's daily digest, once their digest hour has come in their own timezone."""
    return digest.digests_dispatch()
