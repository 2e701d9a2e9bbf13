"""``GET /metrics``: this process's counts (or every worker's, in multiprocess mode) and
what the database says now, in Prometheus' text format, for the bearer of METRICS_TOKEN."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from crm.followups.models import Task
from crm.models import Notification
from leads.imports.models import ImportBatch
from leads.webforms.models import WebForm, WebFormRefusal

IMPORTS_AT_WORK = [
    ImportBatch.Status.CHECKING,
    ImportBatch.Status.QUEUED,
    ImportBatch.Status.RUNNING,
]


class DatabaseCollector:
    """Read at each scrape, so every web process tells the same (indexed, cheap queries)."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        waiting = Notification.objects.filter(
            email_state__in=[Notification.Email.PENDING, Notification.Email.QUEUED]
        )
        outbox = waiting.aggregate(emails=Count("id"))
        oldest = waiting.filter(email_due_at__lte=now).aggregate(due=Min("email_due_at"))["due"]
        yield GaugeMetricFamily(
            "crm_outbox_pending_emails",
            "Emails waiting in the outbox (due or retrying later).",
            value=outbox["emails"],
        )
        yield GaugeMetricFamily(
            "crm_outbox_oldest_due_email_age_seconds",
            "How long the oldest due, unsent email has been due (0: none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "crm_reminders_due_unsent",
            "Task reminders whose time has come and that are not sent yet.",
            value=Task.objects.filter(
                reminder_state=Task.Reminder.SCHEDULED, remind_at__lte=now
            ).count(),
        )
        imports = GaugeMetricFamily(
            "crm_imports_running", "Imports at work, by status.", labels=["status"]
        )
        counts = dict(
            ImportBatch.objects.filter(status__in=IMPORTS_AT_WORK)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status in IMPORTS_AT_WORK:
            imports.add_metric([status.value], counts.get(status, 0))
        yield imports
        yield CounterMetricFamily(
            "crm_webform_submissions_accepted",
            "Web-form submissions accepted (a lead made or updated).",
            value=WebForm.objects.aggregate(n=Sum("submissions"))["n"] or 0,
        )
        refused = CounterMetricFamily(
            "crm_webform_submissions_refused",
            "Web-form submissions refused, by reason.",
            labels=["reason"],
        )
        by_reason = dict(
            WebFormRefusal.objects.values_list("reason").annotate(n=Sum("count")).order_by()
        )
        for reason in WebFormRefusal.Reason:
            refused.add_metric([reason.value], by_reason.get(reason.value, 0))
        yield refused


_database = CollectorRegistry(auto_describe=False)
_database.register(DatabaseCollector())


def _process_registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request: HttpRequest) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404  # no token configured: the endpoint is off
    if not _authorized(request):
        response = HttpResponse(
            "A bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(_process_registry()) + generate_latest(_database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
