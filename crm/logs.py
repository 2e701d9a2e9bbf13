"""Log lines an operator can follow: every line carries the id of the request it belongs to,
and a task enqueued by a request logs under the same id, in the worker.

- :class:`RequestIdMiddleware` takes the request's ``X-Request-ID`` (from the load
  balancer) when it is a sane token, or makes one, and sends it back in the response.
- :class:`RequestIdFilter` puts it on every record as ``request_id``; ``LOG_FORMAT=json``
  (production's default) writes one JSON object a line with :class:`JsonFormatter`, the
  plain format shows it in brackets.
- ``crm/celery.py`` sends it in a header of each task a request enqueues, and sets it
  again in the worker while that task runs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from celery._state import get_current_task
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

HEADER = "X-Request-ID"
TASK_HEADER = "crm_request_id"
# A proxy's id is kept if it looks like one (no spaces, no control characters, short).
VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        request_id = given if VALID_ID.match(given) else uuid.uuid4().hex
        # Kept until the response is closed (request_finished), not reset on the way out:
        # Django logs a 4xx ("Not Found: …") after the last middleware has returned.
        bind_request_id(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished)
def _forget_request_id(sender: Any, **kwargs: Any) -> None:
    bind_request_id(None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``-`` outside a request or a task a request enqueued) and, in
    a worker, the running task's ``task_id`` and ``task_name``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        task = get_current_task()
        if task is not None and task.request.id and not hasattr(record, "task_id"):
            record.task_id = task.request.id
            record.task_name = task.name
        return True


# The attributes every LogRecord has; anything else was passed in ``extra=`` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, the ``extra=``
    fields, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else logging.Formatter(PLAIN_FORMAT)


def tag_sentry_event(event: Event, hint: Hint) -> Event | None:
    """Sentry's ``before_send``: the event carries the request id its log lines carry."""
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event
