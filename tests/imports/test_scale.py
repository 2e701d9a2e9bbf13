"""A 20,000-row file: finishes, is exact, and costs a bounded number of queries per chunk."""

from __future__ import annotations

import time

import pytest

from crm.models import AuditEvent
from leads.imports.models import ImportedLead
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

ROWS = 20_000


def big_file() -> bytes:
    rows: list[list[str]] = [["First name", "Last name", "Email", "Phone", "Company", "Value"]]
    for n in range(1, ROWS + 1):
        if n % 1000 == 0:
            rows.append(["", "", f"bad{n}@example.com", "", "", ""])  # no name: rejected
        elif n % 500 == 0:
            rows.append(["Dup", f"{n}", f"person{n - 1}@example.com", "", "", ""])  # in the file
        else:
            rows.append(
                [
                    f"First{n}",
                    f"Last{n}",
                    f"person{n}@example.com",
                    f"+1 415 {n:07d}",
                    f"Company {n % 97}",
                    f"{n},50",
                ]
            )
    rows.insert(1, ["Known", "Person", "known@example.com", "", "", ""])  # in the database
    return csv_bytes(rows)


def test_twenty_thousand_rows(manager, django_assert_max_num_queries):
    make_lead(manager, email="known@example.com")
    content = big_file()
    started = time.perf_counter()
    # Per 5,000-row chunk a fixed number of statements, whatever the row count.
    with django_assert_max_num_queries(150):
        report, batch = run(manager, content)
    elapsed = time.perf_counter() - started
    rejected = ROWS // 1000
    in_file = ROWS // 500 - rejected
    assert report.rows == ROWS + 1
    assert report.rejected == rejected
    assert report.duplicates == in_file + 1
    assert report.created == ROWS - rejected - in_file
    assert [e["row"] for e in report.errors] == [n + 1 for n in range(1000, ROWS + 1, 1000)]
    assert Lead.objects.count() == report.created + 1
    assert ImportedLead.objects.filter(batch=batch).count() == report.created
    assert AuditEvent.objects.filter(action="created").count() == report.created + 2
    assert len(set(Lead.objects.values_list("number", flat=True))) == report.created + 1
    print(f"{ROWS} rows in {elapsed:.2f} s: {ROWS / elapsed:,.0f} rows/s")
