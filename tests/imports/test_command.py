"""``manage.py import_leads``: the JSON report on its last line, the round trip of our own
export, values translated, formula cells, and who a rep may import as."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads import services
from leads.imports.mapping import OWNER_NOT_ALLOWED
from leads.models import Lead, Source
from tests.factories import make_lead
from tests.imports.helpers import csv_bytes

pytestmark = pytest.mark.django_db


def command(path, *args: str) -> dict:
    out = StringIO()
    call_command("import_leads", str(path), *args, stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    return json.loads(lines[-1])


def test_the_last_line_is_the_report(tmp_path, manager):
    path = tmp_path / "leads.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["First name", "Last name", "Email"],
                ["Ann", "Lee", "ann@example.com"],
                ["", "", "x@example.com"],
                ["Ann", "Again", "ann@example.com"],
            ]
        )
    )
    expected = {
        "rows": 3,
        "created": 1,
        "updated": 0,
        "duplicates": 1,
        "rejected": 1,
        "errors": [{"row": 2, "reason": "It has no name: a lead needs a first or a last name."}],
    }
    assert command(path, "--as", manager.email, "--dry-run") == expected
    assert Lead.objects.count() == 0
    assert command(path, "--as", manager.email) == expected
    assert Lead.objects.count() == 1


def test_a_mapping_file(tmp_path, manager):
    path = tmp_path / "odd.csv"
    path.write_bytes(csv_bytes([["Who", "Mail"], ["Lee", "lee@example.com"]]))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Who": "last_name", "Mail": "Email"}))
    assert command(path, "--as", manager.email, "--mapping", str(mapping))["created"] == 1
    assert Lead.objects.get().last_name == "Lee"


def test_our_export_round_trips_with_no_mapping(client, tmp_path, manager, rep):
    web = Source.objects.get(name="Web form")
    due = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
    make_lead(
        manager,
        owner=rep,
        first_name="Zoë",
        last_name="Müller",
        company='=HYPERLINK("http://evil")',
        job_title="CTO",
        email="zoe@example.com",
        phone="+49 30 1234567",
        rate="hot",
        source=web,
        next_action="Call back",
        next_action_due=due,
        estimated_value=Decimal("1234.50"),
    )
    lead = make_lead(
        manager,
        first_name="Bo",
        last_name="Ray",
        email="",
        phone="+1 415 555 0100",
        source=Source.objects.get(name="Referral"),
    )
    services.lead_change_status(lead=lead, actor=manager, status="contacted")
    client.force_login(manager)
    response = client.get("/leads/export/")
    exported = b"".join(response.streaming_content)
    assert b"'=HYPERLINK" in exported  # the export neutralises the formula
    fields = [
        "number",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "email",
        "phone",
        "phone_normalized",
        "status",
        "rate",
        "owner_id",
        "source_id",
        "next_action",
        "next_action_due",
        "estimated_value",
    ]
    before = sorted(Lead.objects.values_list(*fields))
    Lead.objects.all().delete()
    path = tmp_path / "export.csv"
    path.write_bytes(exported)
    report = command(path, "--as", manager.email)
    assert report == {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    assert sorted(Lead.objects.values_list(*fields)) == before
    # Imported again: every row is a duplicate now.
    assert command(path, "--as", manager.email)["duplicates"] == 2


def test_values_are_translated_and_unknown_ones_reported(tmp_path, manager):
    path = tmp_path / "sf.csv"
    path.write_bytes(
        csv_bytes(
            [
                [
                    "FirstName",
                    "LastName",
                    "Email",
                    "LeadSource",
                    "Status",
                    "Rating",
                    "Country",
                    "Marketing consent",
                    "Next step",
                    "Next step date",
                ],
                [
                    "A",
                    "One",
                    "a@example.com",
                    "Word of mouth",
                    "Working - Contacted",
                    "Hot",
                    "Germany",
                    "ja",
                    "Demo",
                    "05.01.2030 14:00",
                ],
                [
                    "B",
                    "Two",
                    "b@example.com",
                    "Carrier pigeon",
                    "Wobbly",
                    "Lukewarm",
                    "Atlantis",
                    "1",
                    "",
                    "",
                ],
            ]
        )
    )
    call_command(
        "import_leads", str(path), "--as", manager.email, stdout=StringIO(), stderr=StringIO()
    )
    a = Lead.objects.get(email="a@example.com")
    assert (a.source.name, a.status, a.rate, a.country.code) == (
        "Referral",
        "contacted",
        "hot",
        "DE",
    )
    assert a.marketing_consent is True
    assert a.next_action == "Demo"
    assert a.next_action_due.year == 2030
    b = Lead.objects.get(email="b@example.com")
    assert (b.source.name, b.status, b.rate, str(b.country)) == ("Import", "new", "", "")


def test_a_rep_imports_as_themself(tmp_path, rep, rep_b):
    path = tmp_path / "mine.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["First name", "Email", "Owner"],
                ["Mine", "mine@example.com", ""],
                ["Also", "also@example.com", rep.email],
                ["Theirs", "theirs@example.com", rep_b.email],
            ]
        )
    )
    report = command(path, "--as", rep.email)
    assert report["created"] == 2
    assert report["errors"] == [{"row": 3, "reason": OWNER_NOT_ALLOWED.format(email=rep_b.email)}]
    assert set(Lead.objects.values_list("owner", flat=True)) == {rep.pk}


def test_a_manager_gives_leads_to_their_people(tmp_path, manager, rep, other_manager):
    path = tmp_path / "team.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["First name", "Email", "Owner Email"],
                ["To rep", "r@example.com", rep.email.upper()],
                ["Elsewhere", "e@example.com", other_manager.email],
            ]
        )
    )
    report = command(path, "--as", manager.email)
    assert report["created"] == 1
    assert report["errors"][0]["row"] == 2
    assert Lead.objects.get().owner == rep
