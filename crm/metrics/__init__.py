"""What this process measures for Prometheus: request latency and count by view, and the
queries each database served. ``/metrics`` (crm/metrics/views.py) adds what the database
says at scrape time — outbox backlog, reminders due, imports running, web-form
submissions — and is served only with ``METRICS_TOKEN``.

Under gunicorn each worker process counts its own; set ``PROMETHEUS_MULTIPROC_DIR`` (an
empty directory, emptied at each start) and every worker's counts are added up."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "crm_http_request_duration_seconds",
    "Time to answer a request, by view (URL name) and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter(
    "crm_http_requests",
    "Requests answered, by view, method and status class.",
    ["view", "method", "status"],
)
REQUEST_QUERIES = Histogram(
    "crm_http_request_db_queries",
    "Database queries one request made, by view.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500),
)
DB_QUERIES = Counter("crm_db_queries", "Queries sent, by database alias.", ["alias"])

# Unresolved paths (404s, probes of random URLs) share one label, so a scan of made-up
# URLs cannot grow the series without bound.
UNRESOLVED = "<unresolved>"


class _QueryCount:
    def __init__(self) -> None:
        self.value = 0


_request_queries: contextvars.ContextVar[_QueryCount | None] = contextvars.ContextVar(
    "request_queries", default=None
)


def _count_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    DB_QUERIES.labels(context["connection"].alias).inc()
    counting = _request_queries.get()
    if counting is not None:
        counting.value += 1
    return execute(sql, params, many, context)


@receiver(connection_created)
def _watch_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    # The wrapper object outlives reconnections: add the counter once.
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _count_query)


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        # Connections opened before this module was imported got no connection_created.
        for connection in connections.all(initialized_only=True):
            _watch_connection(None, connection)
        queries = _QueryCount()
        token = _request_queries.set(queries)
        try:
            response = self.get_response(request)
        finally:
            _request_queries.reset(token)
        match = request.resolver_match
        view = match.view_name if match else UNRESOLVED
        REQUEST_SECONDS.labels(view, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, request.method, f"{response.status_code // 100}xx").inc()
        REQUEST_QUERIES.labels(view).observe(queries.value)
        return response
