"""A bounded burst of web-form submissions against gunicorn on loopback:
``manage.py benchmark_webforms [--requests 2000] [--addresses 200] [--concurrency 16]``.

It makes a form of its own (acknowledgement on) with a round-robin assignment rule over
a team of its own, starts gunicorn (``--workers``, DEBUG off, ``PROXY_COUNT=1`` so each
request's X-Forwarded-For is its client address), and sends:

1. the burst: ``--requests`` legitimate submissions from ``--addresses`` addresses,
   ``--concurrency`` at a time, each with a token shown five seconds earlier (signed here
   with the server's key, as the page would have); then checks every one was stored
   exactly once, with its owner and its acknowledgement in the outbox;
2. the same burst from one address, with one submission from each of the others mixed
   in: the address's rate limit holds, and the others are all stored.

It prints the stored rate, latency percentiles and status counts (and ``--json`` writes
them), then deletes what it made (``--keep`` leaves it). Loopback only; nothing else is
touched. The database's own leads (e.g. 1,000,000 from ``generate_leads``) stay.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from accounts.models import Membership, Team, User
from crm.models import AuditEvent, Notification
from crm.workers import database_url
from leads.models import AssignmentRule, Lead, LeadNote
from leads.webforms.models import WebForm, WebFormRefusal
from leads.webforms.protection import issue_token


@dataclass
class Burst:
    name: str
    sent: int
    seconds: float
    statuses: dict[int, int]
    latencies_ms: list[float] = field(repr=False)
    stored: int = 0

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("latencies_ms")
        data.update(
            rate_per_s=round(self.rate, 1),
            p50_ms=round(self.percentile(50), 1),
            p95_ms=round(self.percentile(95), 1),
            p99_ms=round(self.percentile(99), 1),
            mean_ms=round(statistics.fmean(self.latencies_ms), 1) if self.latencies_ms else 0,
        )
        return data


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux ``/proc``); 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class CpuMeter:
    """Where a burst's CPU went: gunicorn's workers, the database's server processes for
    this database, and this client; read before and after, per stored submission."""

    server_pid: int
    marks: list[dict[str, float]] = field(default_factory=list)

    def _database_pids(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def mark(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.marks.append(
            {
                "gunicorn": sum(_cpu_seconds(p) for p in _children(self.server_pid)),
                "postgres": sum(_cpu_seconds(p) for p in self._database_pids()),
                "client": usage.ru_utime + usage.ru_stime,
            }
        )

    def per_submission_ms(self, stored: int) -> dict[str, float]:
        before, after = self.marks[-2], self.marks[-1]
        return {
            name: round((after[name] - before[name]) * 1000 / max(1, stored), 2) for name in after
        }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Command(BaseCommand):
    help = "Burst web-form submissions at gunicorn on loopback; report the stored rate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=2000)
        parser.add_argument("--addresses", type=int, default=200)
        parser.add_argument("--concurrency", type=int, default=16)
        parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2 + 1)
        parser.add_argument(
            "--target",
            choices=["team", "person"],
            default="team",
            help="The rule's target: its team round-robin (default), or one person.",
        )
        parser.add_argument("--keep", action="store_true", help="Leave what it made.")
        parser.add_argument("--json", dest="json_path", help="Also write the results here.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = max(1, min(options["requests"], 20_000))
        addresses = max(1, min(options["addresses"], 60_000))
        concurrency = max(1, min(options["concurrency"], 64))
        run = uuid.uuid4().hex[:8]
        form, team = self._setup(run, options["target"])
        port = _free_port()
        server = self._serve(port, options["workers"])
        meter = CpuMeter(server.pid)
        try:
            meter.mark()
            first = self._burst(
                "legitimate",
                port,
                form,
                [(f"b{run}-{i}@example.org", self._address(i % addresses)) for i in range(count)],
                concurrency,
            )
            meter.mark()
            first.stored = self._check_stored(form, run, "b", count)
            flood = [(f"f{run}-{i}@example.org", "203.0.113.7") for i in range(count)]
            others = [(f"o{run}-{i}@example.org", self._address(i)) for i in range(addresses)]
            step = max(1, count // max(1, addresses))
            mixed = []
            for i, item in enumerate(flood):
                mixed.append(item)
                if i % step == 0 and others:
                    mixed.append(others.pop())
            mixed.extend(others)
            second = self._burst("one address floods", port, form, mixed, concurrency)
            from_flood = Lead.objects.filter(email__startswith=f"f{run}-").count()
            from_others = Lead.objects.filter(email__startswith=f"o{run}-").count()
            second.stored = from_flood + from_others
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        refusals = dict(WebFormRefusal.objects.filter(form=form).values_list("reason", "count"))
        owners = Counter(
            Lead.objects.filter(email__startswith=f"b{run}-").values_list("owner__email", flat=True)
        )
        results = {
            "leads_in_database": self._estimated_leads(),
            "requests": count,
            "addresses": addresses,
            "concurrency": concurrency,
            "gunicorn_workers": options["workers"],
            "burst": first.summary(),
            # CPU milliseconds per stored submission (the machine's cores are shared by all).
            "cpu_ms_per_submission": meter.per_submission_ms(first.stored),
            "flood": {
                **second.summary(),
                "stored_from_the_flooding_address": from_flood,
                "stored_from_the_others": from_others,
                "others_sent": addresses,
                "per_address_limit": settings.WEBFORM_RATE_PER_ADDRESS,
            },
            "refusals": refusals,
            "round_robin": dict(owners),
        }
        self._report(results)
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(results, indent=2, default=str))
        if not options["keep"]:
            self._clean(form, team, run)
        if first.stored != count:
            raise CommandError(f"Only {first.stored} of {count} legitimate submissions stored.")
        if from_others != addresses:
            raise CommandError(f"Only {from_others} of {addresses} others stored during the flood.")

    # --- Set-up and tear-down ----------------------------------------------------------

    def _setup(self, run: str, target: str) -> tuple[WebForm, Team]:
        team = Team.objects.create(name=f"Benchmark {run}")
        people = []
        for n in range(4):
            user = User.objects.create_user(email=f"bench-{run}-{n}@example.org", password=None)
            Membership.objects.create(team=team, user=user)
            people.append(user)
        form = WebForm.objects.create(
            name=f"Benchmark {run}",
            slug=f"bench-{run}",
            team=team,
            fields=["first_name", "last_name", "email", "company", "message"],
            required=["first_name", "email"],
            consent_text="I agree to be contacted.",
            acknowledge=True,
        )
        AssignmentRule.objects.create(
            name=f"Benchmark {run}",
            position=0,
            web_form_ids=[form.pk],
            team=team if target == "team" else None,
            user=people[0] if target == "person" else None,
        )
        return form, team

    def _clean(self, form: WebForm, team: Team, run: str) -> None:
        leads = Lead.objects.filter(email__contains=f"{run}-", email__endswith="@example.org")
        ids = list(leads.values_list("pk", flat=True))
        Notification.objects.filter(target_id__in=ids).delete()
        Notification.objects.filter(email_to__contains=f"{run}-").delete()
        AuditEvent.objects.filter(target_id__in=ids, target_type__model="lead").delete()
        LeadNote.objects.filter(lead_id__in=ids).delete()
        Lead.tags.through.objects.filter(lead_id__in=ids).delete()
        Lead.objects.filter(pk__in=ids).delete()
        AssignmentRule.objects.filter(name=f"Benchmark {run}").delete()
        form.delete()
        users = User.objects.filter(email__startswith=f"bench-{run}-")
        Notification.objects.filter(user__in=users).delete()
        Membership.objects.filter(team=team).delete()
        users.delete()
        team.delete()

    def _serve(self, port: int, workers: int) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),  # this process's database (a test's, in a test)
            "DJANGO_SETTINGS_MODULE": "crm.settings.local",
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "PROXY_COUNT": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(max(1, workers)),
            "--log-level",
            "warning",
        ]
        server = subprocess.Popen(command, env=env)  # noqa: S603  (our own interpreter)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    return server
            except OSError:
                time.sleep(0.3)
        server.kill()
        raise CommandError("gunicorn did not answer /healthz within a minute.")

    @staticmethod
    def _address(i: int) -> str:
        return f"10.{100 + i // 65_536}.{i // 256 % 256}.{i % 256}"

    # --- The burst ---------------------------------------------------------------------

    def _burst(
        self,
        name: str,
        port: int,
        form: WebForm,
        people: list[tuple[str, str]],
        concurrency: int,
    ) -> Burst:
        shown = time.time() - 5  # the page was open five seconds before sending
        work = [
            (
                urlencode(
                    {
                        "token": issue_token(form, at=shown),
                        "first_name": "Bench",
                        "last_name": f"Visitor {i}",
                        "email": email,
                        "company": "Benchmark Ltd",
                        "message": "A message from the benchmark.",
                        "consent": "on",
                        "utm_source": "benchmark",
                    }
                ),
                address,
            )
            for i, (email, address) in enumerate(people)
        ]
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        cursor = iter(range(len(work)))
        path = form.get_absolute_url()

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    break
                body, address = work[index]
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Forwarded-For": address,
                }
                started = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] += 1
            conn.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        return Burst(name, len(work), seconds, dict(statuses), latencies)

    # --- Checks and report -------------------------------------------------------------

    def _check_stored(self, form: WebForm, run: str, prefix: str, count: int) -> int:
        leads = Lead.objects.filter(email__startswith=f"{prefix}{run}-")
        stored = leads.count()
        distinct = leads.values("email").distinct().count()
        unowned = leads.filter(owner__isnull=True).count()
        acks = Notification.objects.filter(
            kind=Notification.Kind.ACKNOWLEDGEMENT, email_to__startswith=f"{prefix}{run}-"
        ).count()
        self.stdout.write(
            f"Stored {stored:,} of {count:,} (distinct emails {distinct:,}, without an owner "
            f"{unowned:,}, acknowledgements queued {acks:,})"
        )
        if distinct != stored or acks != stored or unowned:
            raise CommandError("Stored twice, unrouted, or an acknowledgement missing.")
        return stored

    @staticmethod
    def _estimated_leads() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'leads_lead'")
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _report(self, results: dict[str, Any]) -> None:
        self.stdout.write(
            f"Database: ~{results['leads_in_database']:,} leads; gunicorn "
            f"{results['gunicorn_workers']} workers; {results['concurrency']} clients at once"
        )
        for key in ("burst", "flood"):
            data = results[key]
            self.stdout.write(
                f"{data['name']:>20}: {data['sent']:,} sent in {data['seconds']:.1f} s, "
                f"{data['stored']:,} stored ({data['rate_per_s']}/s); "
                f"p50 {data['p50_ms']} ms, p95 {data['p95_ms']} ms, p99 {data['p99_ms']} ms; "
                f"statuses {data['statuses']}"
            )
        self.stdout.write(f"CPU ms per stored submission: {results['cpu_ms_per_submission']}")
        flood = results["flood"]
        self.stdout.write(
            f"Flood: {flood['stored_from_the_flooding_address']} stored from the flooding "
            f"address (limit {flood['per_address_limit']}), {flood['stored_from_the_others']} of "
            f"{flood['others_sent']} from the others; refusals {results['refusals']}"
        )
        self.stdout.write(f"Round-robin: {results['round_robin']}")
