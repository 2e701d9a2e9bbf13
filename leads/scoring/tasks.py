"""The nightly score run (see CELERY_BEAT_SCHEDULE): the inactivity decay and a full
recompute, as set-based updates over id ranges. Safe to run twice at once or again after
a crash: a second run finds every score already right and writes nothing."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from leads.scoring import services


@shared_task
def score_leads() -> dict[str, Any]:
    """Rescore every lead; returns the run's figures (as ``manage.py score_leads`` prints)."""
    return services.rescore_all().as_json()
