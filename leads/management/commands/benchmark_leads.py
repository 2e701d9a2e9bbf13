"""How fast are the lead and deal pages on this database? ``manage.py benchmark_leads
[--runs 30]``.

Requests go through Django's test client, in process and warm, as one user: the times are
server time (middleware, view, template, SQL), not network or browser time. For each page the
SQL it ran is captured once and replayed on its own, so the table shows how much of a page is
the database and how much is Python. Run with ``DEBUG=0`` for production-like numbers.

It also times the conversion service (``deals.services.lead_convert``) on leads it creates
and qualifies for the purpose, inside a transaction it rolls back: it leaves no data behind.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.http import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from deals import services as deal_services
from deals.demo import ensure_default_stages
from deals.models import Deal, Stage
from leads import services as lead_services
from leads.models import Lead

DEEP_OFFSET = 100_000
EXPORT_ROWS = 10_000
CONVERSIONS = 20
DECLARE = re.compile(
    r"^\s*DECLARE\s+\S+\s+(?:NO\s+)?(?:SCROLL\s+)?CURSOR\s+(?:WITH(?:OUT)?\s+HOLD\s+)?FOR\s+",
    re.IGNORECASE,
)


@dataclass
class Result:
    name: str
    url: str | None
    status: int | None = None
    median_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    sql_median_ms: float | None = None
    ratio: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def consume(response: HttpResponseBase) -> Iterator[bytes]:
    """The body, chunk by chunk, whether the response streams or not."""
    if response.streaming:
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            yield chunk if isinstance(chunk, bytes) else str(chunk).encode()
    else:
        yield response.content  # type: ignore[attr-defined]
    # No response.close(): the test client has closed it (or does once the stream ends)
    # without the request_finished handler that would close the database connection.


def drain(response: HttpResponseBase) -> None:
    for _ in consume(response):
        pass


def csv_records(chunks: Iterable[bytes]) -> int:
    """Records in a CSV body read chunk by chunk, header excluded (quoted newlines allowed)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def lines() -> Iterator[str]:
        pending = ""
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    return max(0, sum(1 for _ in csv.reader(lines())) - 1)


def replayable(sql: str) -> str | None:
    """The statement to re-run for a captured query; None for writes and bookkeeping."""
    sql = DECLARE.sub("", sql)
    first = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return sql if first in {"SELECT", "WITH", "(SELECT", "VALUES"} else None


def time_sql(statements: list[str], runs: int) -> float | None:
    """Median over ``runs`` of the time to execute (and fetch) all statements, in ms."""
    if not statements:
        return None
    connection.ensure_connection()
    raw = connection.connection  # no Django wrapper: nothing logged, nothing added
    totals = []
    with raw.cursor() as cursor:
        for run in range(runs + 1):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
            if run:  # the first pass warms the cache
                totals.append((time.perf_counter() - started) * 1000)
    if not raw.autocommit:
        raw.rollback()
    return statistics.median(totals)


class RolledBack(Exception):
    """Raised to leave the conversion benchmark's transaction without committing."""


class Command(BaseCommand):
    help = (
        "Time the lead list, search, detail and export pages, the deal list, board and "
        "forecast pages, and lead conversion, on the current data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=30, help="Timed runs per request.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed runs first.")
        parser.add_argument("--user", default="admin@example.com", help="Who makes requests.")
        parser.add_argument(
            "--export-runs", type=int, default=5, help="Timed runs of the 10,000-row export."
        )
        parser.add_argument("--json", dest="json_path", help="Also write the results here.")

    def handle(self, *args: Any, **options: Any) -> None:
        runs: int = max(1, options["runs"])
        warmup: int = max(1, options["warmup"])
        email: str = options["user"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user {email}; run seed_demo or pass --user.")
        if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

        # The API's rate limit guards against runaway scripts, not against this one.
        settings.API_RATE_LIMIT = "1000000/min"
        self.client = Client(raise_request_exception=False)
        self.client.force_login(user)
        self.runs, self.warmup = runs, warmup
        count = Lead.objects.count()
        deals = Deal.objects.count()
        self.stdout.write(
            f"N = {count:,} leads, {deals:,} deals; as {user.email}; {runs} runs after "
            f"{warmup} warm-up; DEBUG={settings.DEBUG}"
        )
        if settings.DEBUG:
            self.stdout.write("  (DEBUG is on: run with DEBUG=0 for production-like numbers)")

        results = [
            self.measure("home (my day)", "/"),
            self.measure("list first page", "/leads/"),
            self.deep_page(count),
            self.filtered(),
            self.search_company(),
            self.search_email(),
            self.detail(),
            self.measure("deal list first page", "/deals/"),
            self.deals_filtered(),
            self.optional("deal board", "/deals/board/"),
            self.measure("deal forecast", "/deals/forecast/"),
        ]
        # The REST API's list (crm.api) behind the same first page, deep cursor, filter and
        # search: the same FilterSet and keyset page, answered as JSON.
        for label, page in zip(
            ("first page", "deep page", "filtered", "search company"), results[1:5], strict=True
        ):
            if page.url and page.status == 200:
                api_url = "/api/v1/leads" + page.url.removeprefix("/leads/")
                results.append(self.measure(f"API list: {label}", api_url))
        self.print_table(results)
        export = self.export(options["export_runs"])
        self.stdout.write(self.export_line(export))
        conversion = self.conversion(user, runs=CONVERSIONS)
        self.stdout.write(self.conversion_line(conversion))

        if options["json_path"]:
            payload = {
                "leads": count,
                "deals": deals,
                "user": user.email,
                "runs": runs,
                "warmup": warmup,
                "debug": settings.DEBUG,
                "measured_at": timezone.now().isoformat(),
                "requests": [asdict(result) for result in results],
                "export": asdict(export),
                "conversion": asdict(conversion),
            }
            Path(options["json_path"]).write_text(json.dumps(payload, indent=2) + "\n")
            self.stdout.write(f"Wrote {options['json_path']}.")

    # --- requests -----------------------------------------------------------------------------

    def measure(
        self,
        name: str,
        url: str,
        *,
        runs: int | None = None,
        reader: Callable[[HttpResponseBase], None] = drain,
    ) -> Result:
        runs = runs or self.runs
        result = Result(name=name, url=url)
        response = self.client.get(url)
        result.status = response.status_code
        reader(response)
        if response.status_code != 200:
            return result
        for _ in range(self.warmup - 1):
            reader(self.client.get(url))
        with CaptureQueriesContext(connection) as captured:
            reader(self.client.get(url))
        # Read them now: the next request's request_started signal empties the log.
        captured_sql = [query["sql"] for query in captured.captured_queries]
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            reader(self.client.get(url))
            samples.append((time.perf_counter() - started) * 1000)
        result.median_ms = statistics.median(samples)
        result.p95_ms = percentile(samples, 0.95)
        result.queries = len(captured_sql)
        statements = [sql for sql in map(replayable, captured_sql) if sql is not None]
        result.extra["replayed_queries"] = len(statements)
        result.sql_median_ms = time_sql(statements, runs)
        if result.sql_median_ms:
            result.ratio = result.median_ms / result.sql_median_ms
        return result

    def one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchone()

    def deep_page(self, count: int) -> Result:
        name = "deep page"
        try:
            from crm.pagination import encode_cursor
        except ImportError:
            return Result(name, None, note="unavailable (leads.pagination.encode_cursor missing)")
        if count < 2:
            return Result(name, None, note="unavailable (fewer than 2 leads)")
        offset = min(DEEP_OFFSET, count - 1)
        row = self.one(
            "SELECT created_at, id FROM leads_lead ORDER BY created_at DESC, id DESC "
            "OFFSET %s LIMIT 1",
            [offset],
        )
        if row is None:
            return Result(name, None, note="unavailable (no row at that offset)")
        cursor = encode_cursor([row[0].isoformat(), row[1]])
        return self.measure(
            f"deep page (after row {offset:,})", f"/leads/?{self.cursor_param()}={cursor}"
        )

    def cursor_param(self) -> str:
        """The query parameter the list's Next link uses (``cursor`` unless it says otherwise)."""
        response = self.client.get("/leads/")
        body = b"".join(consume(response)).decode(errors="replace")
        found = re.search(r"href=\"[^\"]*?[?&](?:amp;)?(cursor|after)=", body)
        return found.group(1) if found else "cursor"

    def filtered(self) -> Result:
        row = self.one(
            "SELECT owner_id FROM leads_lead WHERE owner_id IS NOT NULL "
            "GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
        )
        if row is None:
            return Result("filtered list", None, note="unavailable (no lead has an owner)")
        return self.measure(
            "filtered (top owner, contacted)", f"/leads/?owner={row[0]}&status=contacted"
        )

    def middle_lead(self, column: str) -> str | None:
        """``column`` of a lead halfway through the table (a typical, not a fresh, row)."""
        row = self.one(
            f"SELECT {column} FROM leads_lead "  # noqa: S608  (column is one of ours)
            f"WHERE {column} <> '' AND id >= (SELECT (min(id) + max(id)) / 2 FROM leads_lead) "
            "ORDER BY id LIMIT 1"
        )
        return row[0] if row else None

    def search_company(self) -> Result:
        company = self.middle_lead("company")
        words = sorted(re.findall(r"[^\W\d_]{4,}", company or ""), key=len, reverse=True)
        if not words:
            return Result("search: company fragment", None, note="unavailable (no company)")
        word = words[0]
        fragment = (word[1:6] if len(word) >= 6 else word[:5]).lower()
        return self.measure(f"search company '{fragment}'", f"/leads/?q={fragment}")

    def search_email(self) -> Result:
        email = self.middle_lead("email")
        if not email:
            return Result("search: email", None, note="unavailable (no email)")
        return self.measure("search full email", f"/leads/?q={email}")

    def detail(self) -> Result:
        row = self.one(
            "SELECT lead_id FROM leads_leadnote WHERE lead_id IN "
            "(SELECT lead_id FROM leads_leadnote ORDER BY id DESC LIMIT 2000) "
            "GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT 1"
        )
        if row is None:
            return Result("detail", None, note="unavailable (no lead has notes)")
        return self.measure("detail (lead with notes)", f"/leads/{row[0]}/")

    # --- deals --------------------------------------------------------------------------------

    def deals_filtered(self) -> Result:
        """The first open stage, and whoever owns the most deals."""
        name = "deals filtered (stage, top owner)"
        stage = Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).first()
        row = self.one(
            "SELECT owner_id FROM deals_deal WHERE owner_id IS NOT NULL "
            "GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
        )
        if stage is None or row is None:
            return Result(name, None, note="unavailable (no open stage or no deal has an owner)")
        return self.measure(name, f"/deals/?stage={stage.pk}&owner={row[0]}")

    def optional(self, name: str, url: str) -> Result:
        """A page that may not exist yet: a 404 is reported as unavailable, not measured."""
        result = self.measure(name, url)
        if result.status == 404:
            return Result(name, url, note=f"unavailable (404 at {url})")
        return result

    def conversion(self, user: User, runs: int) -> Result:
        """``lead_convert`` on ``runs`` leads made and qualified through the services, each
        timed alone; all of it rolled back."""
        result = Result(name="lead conversion", url=None)
        samples: list[float] = []
        queries: list[int] = []
        try:
            with transaction.atomic():
                ensure_default_stages()  # a flushed test database has none
                stage = Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).first()
                if stage is None:
                    result.note = "unavailable (no open stage)"
                    raise RolledBack
                for index in range(runs):
                    lead = self.qualified_lead(user, index)
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        deal_services.lead_convert(
                            lead=lead,
                            actor=user,
                            title=f"{lead.company}: benchmark",
                            value=Decimal(12_000),
                            stage=stage,
                        )
                        samples.append((time.perf_counter() - started) * 1000)
                    queries.append(len(captured.captured_queries))
                raise RolledBack
        except RolledBack:
            pass
        except ValidationError as error:
            result.note = f"unavailable ({' '.join(error.messages)})"
        if samples:
            result.status = 200
            result.median_ms = statistics.median(samples)
            result.p95_ms = percentile(samples, 0.95)
            result.queries = round(statistics.median(queries))
            result.extra["conversions"] = len(samples)
        return result

    def qualified_lead(self, user: User, index: int) -> Lead:
        """A fresh lead, owned by ``user``, with a next action, qualified."""
        lead = lead_services.lead_create(
            actor=user,
            owner=user,
            first_name="Bench",
            last_name=f"Mark {index}",
            company=f"Benchmark Conversion {index} Ltd",
            email=f"bench.mark.{index}@conversion-benchmark.example",
            website=f"https://conversion-benchmark-{index}.example",
            estimated_value=Decimal(12_000),
            next_action="Send the proposal",
            next_action_due=timezone.now() + timedelta(days=2),
        )
        return lead_services.lead_change_status(lead=lead, actor=user, status=Lead.Status.QUALIFIED)

    def export_filter(self) -> tuple[str, int]:
        """The narrowest owner/status filter that still matches 10,000 leads."""
        candidates = [
            ("SELECT owner_id, status, count(*) FROM leads_lead WHERE owner_id IS NOT NULL "
             "GROUP BY 1, 2 HAVING count(*) >= %s ORDER BY 3, 1, 2 LIMIT 1"),
            ("SELECT owner_id, NULL, count(*) FROM leads_lead WHERE owner_id IS NOT NULL "
             "GROUP BY 1 HAVING count(*) >= %s ORDER BY 3, 1 LIMIT 1"),
            ("SELECT NULL, status, count(*) FROM leads_lead "
             "GROUP BY 2 HAVING count(*) >= %s ORDER BY 3, 2 LIMIT 1"),
        ]  # fmt: skip
        for sql in candidates:
            row = self.one(sql, [EXPORT_ROWS])
            if row is not None:
                owner, status, matched = row
                query = "&".join(
                    part
                    for part in (
                        f"owner={owner}" if owner is not None else "",
                        f"status={status}" if status is not None else "",
                    )
                    if part
                )
                return query, matched
        return "", Lead.objects.count()

    def export(self, export_runs: int) -> Result:
        query, matched = self.export_filter()
        url = f"/leads/export/?{query}" if query else "/leads/export/"
        rows: list[int] = []

        def read(response: HttpResponseBase) -> None:
            if response.status_code == 200:
                rows.append(csv_records(consume(response)))
            else:
                drain(response)

        result = self.measure("CSV export", url, runs=max(1, export_runs), reader=read)
        result.extra["matching_rows"] = matched
        if result.status != 200:
            result.note = f"unavailable ({result.status})"
            return result
        result.extra["rows_read"] = rows[-1]
        response = self.client.get(url)
        tracemalloc.start()
        tracemalloc.reset_peak()
        try:
            csv_records(consume(response))
            result.extra["peak_python_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
        return result

    # --- output -------------------------------------------------------------------------------

    def print_table(self, results: list[Result]) -> None:
        header = (
            f"{'request':<34} {'status':>6} {'median ms':>10} {'p95 ms':>9} {'queries':>8} "
            f"{'SQL median ms':>14} {'page/SQL':>9}"
        )
        self.stdout.write("")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            if r.status is None:
                self.stdout.write(f"{r.name:<34} {r.note}")
                continue
            if r.status != 200:
                self.stdout.write(f"{r.name:<34} {r.status:>6}   (not measured) {r.url}")
                continue
            self.stdout.write(
                f"{r.name:<34} {r.status:>6} {num(r.median_ms):>10} {num(r.p95_ms):>9} "
                f"{r.queries:>8} {num(r.sql_median_ms):>14} {ratio(r.ratio):>9}"
            )
        self.stdout.write("")

    def conversion_line(self, r: Result) -> str:
        if r.median_ms is None:
            return f"Lead conversion: {r.note or 'unavailable'}"
        return (
            f"Lead conversion (deals.services.lead_convert on {r.extra['conversions']} freshly "
            f"qualified leads, rolled back): median {num(r.median_ms)} ms, "
            f"p95 {num(r.p95_ms)} ms, {r.queries} queries each"
        )

    def export_line(self, r: Result) -> str:
        if r.status != 200:
            return f"CSV export ({r.url}): {r.note}"
        return (
            f"CSV export ({r.url}, {r.extra['matching_rows']:,} matching): "
            f"{r.extra['rows_read']:,} rows read, median {num(r.median_ms)} ms, "
            f"p95 {num(r.p95_ms)} ms, {r.queries} queries, SQL median {num(r.sql_median_ms)} ms, "
            f"peak Python memory {r.extra['peak_python_mib']:.1f} MiB"
        )


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×"
