"""What the Celery signals do for the project, connected by ``CrmConfig.ready``: the tasks
of ``DATABASE_REPLICA_TASKS`` read from a replica, and the request id travels from a
request into the tasks it enqueued and their log lines."""

from __future__ import annotations

from typing import Any

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_postrun,
    task_prerun,
)
from django.conf import settings

import crm.db_router as db_router
import crm.logs as logs

# The tasks of DATABASE_REPLICA_TASKS read from a replica (crm/db_router.py), the rest of
# their work (every transaction) on the primary.
_replica_tokens: dict[str, Any] = {}


@task_prerun.connect
def _replica_reads_on(task_id: str, task: Any, **kwargs: Any) -> None:
    if task.name in settings.DATABASE_REPLICA_TASKS:
        _replica_tokens[task_id] = db_router.replica_scope_enter()


@task_postrun.connect
def _replica_reads_off(task_id: str, **kwargs: Any) -> None:
    token = _replica_tokens.pop(task_id, None)
    if token is not None:
        db_router.replica_scope_exit(token)


# The request id (crm/logs.py) travels with each task a request enqueues, in a message
# header, and is set again in the worker while the task runs, so its log lines carry it.
_request_tokens: dict[str, Any] = {}


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(logs.TASK_HEADER, request_id)


@task_prerun.connect
def _bind_request_id(task_id: str, task: Any, **kwargs: Any) -> None:
    request = task.request
    request_id = getattr(request, logs.TASK_HEADER, None) or (request.headers or {}).get(
        logs.TASK_HEADER
    )
    if request_id:
        _request_tokens[task_id] = logs.bind_request_id(str(request_id))


@task_postrun.connect
def _unbind_request_id(task_id: str, **kwargs: Any) -> None:
    token = _request_tokens.pop(task_id, None)
    if token is not None:
        logs.unbind_request_id(token)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _worker_log_format(logger: Any, **kwargs: Any) -> None:
    """The worker's own handlers (Celery sets them up) get the project's format and filter."""
    for handler in logger.handlers:
        handler.addFilter(logs.RequestIdFilter())
        handler.setFormatter(logs.formatter(settings.LOG_FORMAT))
