"""The response-time scan, run by beat (see CELERY_BEAT_SCHEDULE). Safe to run twice at
once: the leads it acts on are claimed with row locks, and each alert has a key unique
for its user."""

from __future__ import annotations

from celery import shared_task

from leads.sla import services


@shared_task
def remind_response_targets() -> list[int]:
    """Alert owners about new leads not contacted in time, then escalate to managers."""
    alerted, escalated = services.sla_scan()
    return [alerted, escalated]
