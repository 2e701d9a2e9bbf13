"""How fast is ``/dashboard/`` on this database? ``manage.py benchmark_dashboard
[--runs N] [--json]``.

In process and warm, through Django's test client (server time: middleware, view,
template and SQL), for team scope and all scope × the last 90 days and the last year,
and per role (admin, manager, rep). Each page's SQL is captured once and replayed on its
own beside it, so the ratio says how much of the page is the database. Read-only.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Scope, User, access_scope
from crm.dashboards.forms import DashboardForm
from crm.dashboards.selectors import lead_figures
from crm.dashboards.tables import Links, lead_tables
from leads.management.commands.benchmark_leads import replayable, time_sql
from leads.selectors import choices_for


def _first(role: Scope, email: str | None) -> User | None:
    users = User.objects.filter(is_active=True).order_by("pk")
    if email:
        return users.filter(email=email).first()
    for user in users.iterator():
        manages = Membership.objects.filter(user=user, role=Membership.Role.MANAGER)
        if access_scope(user) == role and (role != Scope.TEAM or manages.exists()):
            return user
    return None


class Command(BaseCommand):
    help = "Median server time and query count of /dashboard/, beside its SQL run directly."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--admin", help="email of the admin to sign in as")
        parser.add_argument("--manager", help="email of the manager to sign in as")
        parser.add_argument("--rep", help="email of the rep to sign in as")

    def handle(self, *args: Any, **options: Any) -> None:
        runs = max(1, options["runs"])
        if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        admin = _first(Scope.ALL, options["admin"])
        manager = _first(Scope.TEAM, options["manager"])
        rep = _first(Scope.OWN, options["rep"])
        if manager is None or rep is None:
            raise CommandError("Needs a manager (of a team) and a rep in the database.")
        team = (
            Membership.objects.filter(user=manager, role=Membership.Role.MANAGER)
            .values_list("team_id", flat=True)
            .first()
        )
        cases: list[tuple[str, User | None, str]] = []
        for days, preset in (("90 days", "90"), ("1 year", "year")):
            cases += [
                (f"admin · all · {days}", admin, f"range={preset}"),
                (f"admin · team · {days}", admin, f"range={preset}&team={team}"),
                (f"manager · team · {days}", manager, f"range={preset}&team={team}"),
                (f"manager · all my teams · {days}", manager, f"range={preset}"),
                (f"rep · own · {days}", rep, f"range={preset}"),
            ]
        results = [self.measure(name, user, query, runs) for name, user, query in cases]
        if options["json"]:
            self.stdout.write(json.dumps(results))
            return
        self.stdout.write(
            f"{'case':34} {'status':>6} {'median ms':>10} {'SQL ms':>8} {'ratio':>6} {'queries':>8}"
        )
        for r in results:
            if r.get("skipped"):
                self.stdout.write(f"{r['case']:34} skipped: {r['skipped']}")
                continue
            lead_ratio = r["lead_ms"] / r["lead_sql_ms"] if r["lead_sql_ms"] else 0
            self.stdout.write(
                f"{r['case']:34} {r['status']:>6} {r['median_ms']:>8.1f} {r['sql_ms']:>7.1f} "
                f"{r['ratio'] or 0:>6.2f} {r['queries']:>7} | {r['lead_ms']:>8.1f} "
                f"{r['lead_sql_ms']:>8.1f} {lead_ratio:>6.2f} {r['lead_queries']:>7}"
            )
            for ms, sql in r["slowest"]:
                self.stdout.write(f"{'':36}{ms:8.1f} ms  {sql}")

    def measure(self, name: str, user: User | None, query: str, runs: int) -> dict[str, Any]:
        if user is None:
            return {"case": name, "skipped": "no such user"}
        client = Client(raise_request_exception=True)
        client.force_login(user)
        url = f"/dashboard/?{query}"
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        sql = [q["sql"] for q in captured.captured_queries]
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        statements = [s for s in map(replayable, sql) if s is not None]
        sql_ms = time_sql(statements, runs) or 0.0
        each = sorted(
            ((time_sql([s], 3) or 0.0, s[:110].replace("\n", " ")) for s in statements),
            reverse=True,
        )[:3]
        median = statistics.median(samples)
        lead_ms, lead_sql_ms, lead_queries = self.lead_side(user, query, runs)
        return {
            "case": name,
            "user": user.email,
            "status": response.status_code,
            "median_ms": round(median, 1),
            "sql_ms": round(sql_ms, 1),
            "ratio": round(median / sql_ms, 2) if sql_ms else None,
            "queries": len(sql),
            "slowest": [(round(ms, 1), text) for ms, text in each],
            "lead_ms": round(lead_ms, 1),
            "lead_sql_ms": round(lead_sql_ms, 1),
            "lead_queries": lead_queries,
        }

    def lead_side(self, user: User, query: str, runs: int) -> tuple[float, float, int]:
        """The lead figures alone (selectors + tables), without the deal side: the deal
        figures are another module (``crm.dashboards.deals``) with its own benchmark."""
        request = RequestFactory().get("/dashboard/?" + query)
        choices = choices_for(user)
        form = DashboardForm(request.GET, user=user, choices=choices)
        sel = form.selection()

        def once() -> None:
            lead_tables(lead_figures(user, sel, choices), Links(sel, user.pk), sel)

        once()
        with CaptureQueriesContext(connection) as captured:
            once()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            once()
            samples.append((time.perf_counter() - started) * 1000)
        statements = [s for s in map(replayable, (q["sql"] for q in captured)) if s]
        return statistics.median(samples), time_sql(statements, runs) or 0.0, len(statements)
