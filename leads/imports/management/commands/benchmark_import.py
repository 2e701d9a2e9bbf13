"""``manage.py benchmark_import --rows N``: generate a CSV of N leads and import it into
the current database with the import engine, timing it (rows/s) and measuring the peak
memory (RSS) of this process; the imported leads are removed afterwards unless --keep."""

from __future__ import annotations

import csv
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from leads.imports.management.commands.import_leads import ON_DUPLICATE, importer
from leads.imports.services import ImportOptions, import_command
from leads.models import Lead

FIRST = ["Ann", "Bob", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kofi"]
LAST = ["Lee", "Meyer", "Novak", "Okafor", "Patel", "Quinn", "Rossi", "Silva", "Tanaka"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
STATUSES = ["New", "Not contacted", "Contacted", "Junk"]
SOURCES = ["Web", "Referral", "Trade show", "Cold call", "LinkedIn", ""]


def write_file(path: Path, rows: int, seed: int) -> None:
    """A realistic file: our export's columns, a few rows each of duplicates and bad rows."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    run = f"{seed}{int(time.time())}"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "First name",
                "Last name",
                "Company",
                "Job title",
                "Email",
                "Phone",
                "Status",
                "Source",
                "Estimated value",
                "Country",
            ]
        )
        previous = ""
        for n in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}.{run}.{n}@example.com".lower()
            if n % 200 == 199:
                email = previous  # the row before, again: a duplicate within the file
            previous = email
            writer.writerow(
                [
                    first if n % 1000 != 999 else "",
                    last if n % 1000 != 999 else "",
                    f"{rng.choice(COMPANIES)} {n % 5000}",
                    "Head of Sales",
                    email,
                    f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {n % 10000:04d}",
                    rng.choice(STATUSES),
                    rng.choice(SOURCES),
                    f"{rng.randint(1, 500) * 100},00",
                    "US",
                ]
            )


def remove(batch_id: int) -> None:
    """Delete what the import made, set-based (undo goes lead by lead through the ORM)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_ids ON COMMIT DROP AS "
            "SELECT lead_id FROM imports_importedlead WHERE batch_id = %s",
            [batch_id],
        )
        cursor.execute("DELETE FROM imports_importedlead WHERE batch_id = %s", [batch_id])
        cursor.execute(
            "DELETE FROM crm_auditevent a USING bench_ids b WHERE a.target_id = b.lead_id "
            "AND a.target_type_id = (SELECT id FROM django_content_type "
            "WHERE app_label = 'leads' AND model = 'lead')"
        )
        cursor.execute("DELETE FROM leads_lead l USING bench_ids b WHERE l.id = b.lead_id")
        cursor.execute("DELETE FROM imports_importrejection WHERE batch_id = %s", [batch_id])


class Command(BaseCommand):
    help = "Time an import of a generated CSV into this database (rows/s, peak RSS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument(
            "--processes",
            type=int,
            default=2,
            help="Processes translating rows beside the database work (1: a thread).",
        )
        parser.add_argument("--as", dest="as_email", help="Import as this user (an admin).")
        parser.add_argument("--on-duplicate", choices=sorted(ON_DUPLICATE), default="skip")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Keep the imported leads.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DEBUG:
            self.stderr.write(
                "DEBUG is on: Django keeps every statement's text, which the peak RSS "
                "counts. Run with DEBUG=0 for the figures."
            )
        actor = importer(options["as_email"])
        existing = Lead.objects.count()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "benchmark.csv"
            write_file(path, options["rows"], options["seed"])
            size = path.stat().st_size
            self.stdout.write(
                f"{options['rows']:,} rows ({size / 1e6:.1f} MB) into {existing:,} leads, "
                f"as {actor.email}…"
            )
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            with path.open("rb") as stream:
                report, batch = import_command(
                    stream=stream,
                    name=path.name,
                    size=size,
                    actor=actor,
                    options=ImportOptions.from_dict(
                        {"on_duplicate": ON_DUPLICATE[options["on_duplicate"]]}
                    ),
                    mapping=None,
                    dry_run=False,
                    processes=options["processes"],
                )
            elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.stdout.write(
            f"{report.rows:,} rows in {elapsed:.1f} s: {report.rows / elapsed:,.0f} rows/s; "
            f"created {report.created:,}, duplicates {report.duplicates:,}, rejected "
            f"{report.rejected:,}; peak RSS {peak / 1024:.0f} MB "
            f"({before / 1024:.0f} MB before the import)"
        )
        if batch is not None and not options["keep"]:
            remove(batch.pk)
            batch.delete()
            self.stdout.write("Removed the imported leads (--keep keeps them).")
