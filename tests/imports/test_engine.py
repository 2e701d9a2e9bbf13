"""The engine: what is created, what is a duplicate, what is refused and why."""

from __future__ import annotations

import pytest

from crm.models import AuditEvent
from leads.imports.mapping import NEEDS_CONTACT, NEEDS_NAME
from leads.imports.models import ImportBatch, ImportedLead, ImportRejection
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.helpers import HEADER, csv_bytes, run

pytestmark = pytest.mark.django_db


def test_creates_leads_with_source_import_batch_history_and_deadline(manager):
    content = csv_bytes(
        [
            HEADER,
            ["Ann", "Lee", "Ann@Example.com ", "+1 415 555 0100", "Acme"],
            ["Bob", "Ray", "", "(415) 555-0101", "Beta"],
        ]
    )
    report, batch = run(manager, content)
    assert report.as_json() == {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    ann = Lead.objects.get(email="ann@example.com")
    assert ann.source.name == "Import"
    assert ann.created_by == manager
    assert ann.sla_due_at is not None
    assert ann.number.startswith("L-")
    bob = Lead.objects.get(first_name="Bob")
    assert bob.phone_normalized == "+14155550101"
    assert ImportedLead.objects.filter(batch=batch, action="created").count() == 2
    event = AuditEvent.objects.for_object(ann).get()
    assert event.action == "created"
    assert f"{batch.reference}, row 1" in event.note
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.rows, batch.created) == (2, 2)


def test_rejected_rows_carry_their_record_numbers(manager):
    content = csv_bytes(
        [
            HEADER,
            ["Ann", "Lee", "ann@example.com", "", ""],
            ["", "", "nobody@example.com", "", ""],
            [],
            ["Cy", "Dee", "", "", "Gamma"],
            ["Di", "Eve", "not-an-email", "", ""],
        ]
    )
    report, batch = run(manager, content)
    assert report.rows == 4
    assert report.created == 1
    assert report.errors == [
        {"row": 2, "reason": NEEDS_NAME},
        {"row": 3, "reason": NEEDS_CONTACT},
        {"row": 4, "reason": "“not-an-email” is not an email address."},
    ]
    assert list(ImportRejection.objects.filter(batch=batch).values_list("row", flat=True)) == [
        2,
        3,
        4,
    ]


def test_dry_run_writes_nothing(manager):
    make_lead(manager, email="known@example.com")
    before = (Lead.objects.count(), AuditEvent.objects.count(), ImportBatch.objects.count())
    content = csv_bytes(
        [
            HEADER,
            ["Ann", "Lee", "known@example.com", "", ""],
            ["Bo", "Ra", "new@example.com", "", ""],
        ]
    )
    report, batch = run(manager, content, dry_run=True)
    assert batch is None
    assert (report.created, report.duplicates) == (1, 1)
    assert report.samples["created"][0]["email"] == "new@example.com"
    after = (Lead.objects.count(), AuditEvent.objects.count(), ImportBatch.objects.count())
    assert before == after


def test_translating_processes_give_the_same_result(manager, settings):
    settings.IMPORT_BATCH_ROWS = 50
    rows = [HEADER] + [[f"P{n}", "Lee", f"p{n % 180}@example.com", "", ""] for n in range(200)]
    rows.insert(7, ["", "", "x@example.com", "", ""])
    content = csv_bytes(rows)
    threaded, _ = run(manager, content, dry_run=True)
    import io

    from leads.imports.services import ImportOptions, import_command

    spawned, _ = import_command(
        stream=io.BytesIO(content),
        name="f.csv",
        size=len(content),
        actor=manager,
        options=ImportOptions(),
        mapping=None,
        dry_run=True,
        processes=2,
    )
    assert spawned.as_json() == threaded.as_json()
    assert (threaded.created, threaded.duplicates, threaded.rejected) == (180, 20, 1)


def test_a_file_that_fails_to_read_raises_its_own_error(admin):
    """The reading fails before the first chunk is handed over: that error reaches the
    caller (the batch is marked failed with it), not one from the cleanup after it."""
    from leads.imports.parsing import ImportFileError, Table
    from leads.imports.services import ImportOptions, import_rows

    def records():
        raise ImportFileError("Row 1 cannot be read.")
        yield  # a generator

    table = Table(headers=["Email"], records=records(), progress=lambda: 0.0, kind="csv")
    with pytest.raises(ImportFileError, match=r"Row 1 cannot be read\."):
        import_rows(
            table=table,
            mapping={"Email": "email"},
            actor=admin,
            options=ImportOptions(),
            dry_run=True,
            processes=1,
        )
