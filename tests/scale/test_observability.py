"""What an operator watches: /metrics behind its token, and log lines that carry the request's
id — in the web process and, through a real worker, in the task the request enqueued."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import User
from crm import logs
from crm.followups import services as followups
from crm.followups.reminders import reminders_dispatch
from tests.scale.workers import Worker, purge_broker, wait_for

TOKEN = "metrics-token-for-tests"


def scrape(client: Client, token: str | None = TOKEN) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def samples(response: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


# --- /metrics ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_and_refused_without_the_right_one(
    client: Client, settings: Any
) -> None:
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    refused = scrape(client, token=None)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client, token="not-the-token").status_code == 401
    assert b"crm_" not in refused.content


@pytest.mark.django_db
def test_metrics_tell_latency_queries_and_the_outbox_and_reminder_backlog(
    client: Client, settings: Any, rep: User
) -> None:
    settings.METRICS_TOKEN = TOKEN
    followups.task_create(
        actor=rep, title="Call back", due_at=timezone.now() - timedelta(minutes=5)
    )
    client.force_login(rep)
    assert client.get(reverse("leads:list")).status_code == 200

    before = samples(scrape(client))
    assert before[("crm_reminders_due_unsent", ())] == 1
    assert before[("crm_outbox_pending_emails", ())] == 0
    assert before[("crm_outbox_oldest_due_email_age_seconds", ())] == 0
    view = (("method", "GET"), ("view", "leads:list"))
    assert before[("crm_http_request_duration_seconds_count", view)] >= 1
    assert before[("crm_http_requests_total", (*view[:1], ("status", "2xx"), view[1]))] >= 1
    assert before[("crm_http_request_db_queries_sum", (("view", "leads:list"),))] > 0
    assert before[("crm_db_queries_total", (("alias", "default"),))] > 0
    assert before[("crm_imports_running", (("status", "running"),))] == 0
    assert ("crm_webform_submissions_accepted_total", ()) in before
    assert before[("crm_webform_submissions_refused_total", (("reason", "honeypot"),))] == 0

    assert reminders_dispatch(at=timezone.now()) == 1  # the reminder becomes an email
    after = samples(scrape(client))
    assert after[("crm_reminders_due_unsent", ())] == 0
    assert after[("crm_outbox_pending_emails", ())] == 1
    assert after[("crm_outbox_oldest_due_email_age_seconds", ())] >= 0


# --- Request ids in the web process ------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_keeps_a_sane_request_id_and_replaces_any_other(client: Client) -> None:
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")
    assert kept["X-Request-ID"] == "lb-7f3a9c2e-0001"
    for bad in ["short", "has spaces in it", "x" * 200, "new\nline-injected"]:
        made = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
        assert made["X-Request-ID"] != bad
        assert len(made["X-Request-ID"]) == 32
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


@pytest.mark.django_db
def test_a_requests_log_lines_carry_its_id_as_json(client: Client) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-0042-abcdef")
    finally:
        logger.removeHandler(handler)
    [line] = [json.loads(text) for text in lines]
    assert line["request_id"] == "trace-0042-abcdef"
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert line["message"] == "Not Found: /no-such-page/"
    assert logs.current_request_id() is None  # forgotten once the response was closed


# --- …and in the task it enqueued, in a real worker ------------------------------------------


@pytest.fixture
def json_worker(transactional_db: None, tmp_path: Path) -> Iterator[Worker]:
    purge_broker()
    worker = Worker(tmp_path / "worker.log", name="logs", LOG_FORMAT="json")
    yield worker
    worker.stop()
    purge_broker()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_task_a_request_enqueued_logs_under_the_requests_id(
    json_worker: Worker, admin: User
) -> None:
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "traced.invitee@example.com",
            "first_name": "Traced",
            "last_name": "Invitee",
            "timezone": "UTC",
            "role": "Sales rep",
            "send_invitation": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
        HTTP_X_REQUEST_ID="req-invite-5150",
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    def invitation_line() -> dict[str, Any] | None:
        assert json_worker.alive()
        for text in json_worker.output().splitlines():
            if text.startswith("{") and "send_invitation" in text and "succeeded" in text:
                return dict(json.loads(text))
        return None

    wait_for(lambda: invitation_line() is not None, what="the invitation task's log line")
    line = invitation_line()
    assert line is not None
    assert line["request_id"] == "req-invite-5150"
    assert line["task_name"] == "accounts.tasks.send_invitation"
    assert line["level"] == "INFO"
    assert User.objects.get(email="traced.invitee@example.com").invitation_sent_at is not None


# --- Sentry -------------------------------------------------------------------------------------


def test_with_sentry_dsn_an_error_reaches_sentry_tagged_with_the_request_id(
    tmp_path: Path,
) -> None:
    """A stand-in Sentry (an HTTP server on loopback) receives what the SDK, set up by the
    settings from SENTRY_DSN, sends for an exception raised under a request id."""
    import gzip
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from django.conf import settings

    received: list[bytes] = []

    class Sentry(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Sentry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import django, sentry_sdk; django.setup()\n"
        "from crm import logs\n"
        "logs.bind_request_id('req-sentry-0007')\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    sentry_sdk.capture_exception()\n"
        "sentry_sdk.flush(5)\n"
    )
    try:
        subprocess.run(
            [sys.executable, "-c", script],
            env={
                "PATH": "/usr/bin:/bin",
                "DJANGO_SETTINGS_MODULE": "crm.settings.test",
                "DATABASE_URL": "postgresql://unused@127.0.0.1:9/unused",
                "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/42",
            },
            cwd=settings.BASE_DIR,
            check=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    events = [
        json.loads(line)
        for body in received
        for line in body.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert len(events) == 1, received
    [event] = events
    assert event["tags"]["request_id"] == "req-sentry-0007"
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
