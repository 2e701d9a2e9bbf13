"""The import's Celery task (named ``*.tasks.import*``: routed to the ``imports`` queue)."""

from __future__ import annotations

from celery import shared_task

from leads.imports import services


# A million rows take minutes: above the default limits, below the broker's redelivery
# (visibility_timeout, an hour), so a long import is not handed to a second worker.
@shared_task(soft_time_limit=3000, time_limit=3300)
def import_batch(batch_id: int) -> dict[str, int] | None:
    """Run a queued import batch; a batch not waiting (done, canceled, taken) is left."""
    report = services.import_batch_run(batch_id=batch_id)
    if report is None:
        return None
    return {key: value for key, value in report.as_json().items() if key != "errors"}


@shared_task(soft_time_limit=3000, time_limit=3300)
def import_check(batch_id: int) -> dict[str, int] | None:
    """The dry run of a large file (a small one is checked by the page itself)."""
    report = services.import_batch_check(batch_id=batch_id)
    if report is None:
        return None
    return {key: value for key, value in report.as_json().items() if key != "errors"}
