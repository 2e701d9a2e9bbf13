from __future__ import annotations

from typing import Any

from celery import shared_task

from crm.dashboards import services


@shared_task(name="crm.dashboards.tasks.rebuild_lead_summary")
def rebuild_lead_summary() -> dict[str, Any]:
    """Nightly safety net: the triggers keep the summary right; this rebuilds it."""
    return services.summary_rebuild()
