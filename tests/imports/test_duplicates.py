"""Duplicate handling: skip, update (empty fields only, or overwrite), create anyway,
against the database and within the file."""

from __future__ import annotations

import pytest

from crm.models import AuditEvent
from leads.imports.models import ImportedLead
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

HEADER = ["First name", "Last name", "Email", "Phone", "Company", "Job title"]


@pytest.fixture
def existing(manager):
    return make_lead(
        manager,
        owner=manager,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+1 415 555 0100",
        company="Acme",
    )


def file_with(*rows):
    return csv_bytes([HEADER, *rows])


def test_skip_matches_the_database_by_email_any_case_and_by_phone(manager, existing):
    content = file_with(
        ["Ann", "L.", " ANN@example.COM ", "", "Other", ""],
        ["A.", "Lee", "", "(415) 555-0100", "", ""],
        ["New", "Person", "new@example.com", "", "", ""],
    )
    report, _ = run(manager, content, on_duplicate="skip", default_region="US")
    assert (report.created, report.duplicates, report.updated) == (1, 2, 0)
    existing.refresh_from_db()
    assert existing.company == "Acme"


def test_phone_matching_uses_the_default_region(manager):
    make_lead(manager, first_name="Uk", email="", phone="+44 20 7946 0000")
    content = file_with(["Uk", "Person", "", "020 7946 0000", "", ""])
    assert run(manager, content, default_region="US", dry_run=True)[0].duplicates == 0
    assert run(manager, content, default_region="GB", dry_run=True)[0].duplicates == 1


def test_within_the_file_the_first_row_wins(manager):
    content = file_with(
        ["Ann", "One", "same@example.com", "", "", ""],
        ["Ann", "Two", "SAME@example.com", "", "", ""],
        ["Bob", "One", "", "+1 415 555 0199", "", ""],
        ["Bob", "Two", "bob@example.com", "+14155550199", "", ""],
        ["Cy", "Three", "bob@example.com", "", "", ""],
    )
    report, _ = run(manager, content, on_duplicate="skip")
    assert (report.created, report.duplicates) == (2, 3)
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"One"}


def test_within_the_file_across_chunks(manager, settings):
    settings.IMPORT_BATCH_ROWS = 2
    content = file_with(
        ["A", "1", "a@example.com", "", "", ""],
        ["B", "2", "b@example.com", "", "", ""],
        ["C", "3", "c@example.com", "", "", ""],
        ["A", "4", "a@example.com", "", "", ""],
        ["B", "5", "", "", "", ""],
    )
    report, _ = run(manager, content)
    assert (report.rows, report.created, report.duplicates, report.rejected) == (5, 3, 1, 1)


# Keys carried only by rows that created nothing: a second phone on a row that repeats an
# earlier email, a new phone on a row that matches a lead in the database.
CHAINED = [
    ["A", "1", "a@example.com", "+1 415 555 0101", "", ""],
    ["A", "2", "a@example.com", "+1 415 555 0102", "", ""],
    ["C", "3", "c@example.com", "+1 415 555 0102", "", ""],
    ["Ann", "4", "ann@example.com", "+1 415 555 0103", "", "CTO"],
    ["D", "5", "d@example.com", "+1 415 555 0103", "", ""],
    ["E", "6", "e@example.com", "", "", ""],
    ["A", "7", "a@example.com", "", "", ""],
]


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("mode", ["skip", "update_empty"])
def test_chunks_do_not_change_what_a_row_is(manager, existing, settings, mode, dry_run):
    """Whatever the chunk size, each row has the outcome it has in one chunk: a real run
    that skips duplicates finds earlier rows' leads by the database match and remembers
    only the keys of rows that created nothing; the others remember every key."""
    outcomes = []
    for size in (100, 2):
        settings.IMPORT_BATCH_ROWS = size
        report, _ = run(manager, file_with(*CHAINED), on_duplicate=mode, dry_run=dry_run)
        outcomes.append((report.created, report.duplicates, report.updated, report.rejected))
        if not dry_run:
            created = set(Lead.objects.exclude(pk=existing.pk).values_list("last_name", flat=True))
            assert created == {"1", "6"}
            Lead.objects.exclude(pk=existing.pk).delete()
            Lead.objects.filter(pk=existing.pk).update(job_title="")
    assert outcomes[0] == outcomes[1] == ((2, 5, 0, 0) if mode == "skip" else (2, 4, 1, 0))


def test_update_empty_only_fills_in_blanks(manager, existing):
    content = file_with(["Ann", "Other", "ann@example.com", "", "Other Co", "CTO"])
    report, batch = run(manager, content, on_duplicate="update_empty")
    assert (report.updated, report.created, report.duplicates) == (1, 0, 0)
    existing.refresh_from_db()
    assert (existing.last_name, existing.company, existing.job_title) == ("Lee", "Acme", "CTO")
    assert existing.version == 2
    record = ImportedLead.objects.get(batch=batch, lead=existing)
    assert record.action == "updated"
    assert (record.previous or {})["job_title"] == ""
    event = AuditEvent.objects.for_object(existing).filter(action="updated").get()
    assert event.changes == {"Job title": ["", "CTO"]}


def test_update_overwrite_replaces_with_non_empty_values(manager, existing):
    content = file_with(["Ann", "Lee-Smith", "ann@example.com", "", "", "CTO"])
    report, _ = run(manager, content, on_duplicate="update")
    assert report.updated == 1
    existing.refresh_from_db()
    # An empty cell never blanks a field out.
    assert (existing.last_name, existing.company, existing.job_title) == (
        "Lee-Smith",
        "Acme",
        "CTO",
    )


def test_an_unchanged_match_is_a_duplicate(manager, existing):
    content = file_with(["Ann", "Lee", "ann@example.com", "", "Acme", ""])
    report, _ = run(manager, content, on_duplicate="update")
    assert (report.updated, report.duplicates) == (0, 1)
    existing.refresh_from_db()
    assert existing.version == 1


def test_create_anyway(manager, existing):
    content = file_with(
        ["Ann", "Lee", "ann@example.com", "", "", ""],
        ["Ann", "Lee", "ann@example.com", "", "", ""],
    )
    report, _ = run(manager, content, on_duplicate="create")
    assert (report.created, report.duplicates) == (2, 0)
    assert Lead.objects.filter(email="ann@example.com").count() == 3


def test_a_rep_does_not_update_another_reps_lead(rep, rep_b):
    theirs = make_lead(rep_b, email="theirs@example.com", company="Theirs")
    content = file_with(["T", "Heirs", "theirs@example.com", "", "Mine now", ""])
    report, _ = run(rep, content, on_duplicate="update")
    assert (report.updated, report.duplicates, report.created) == (0, 1, 0)
    assert "cannot change" in report.warnings[0]["reason"]
    theirs.refresh_from_db()
    assert theirs.company == "Theirs"
