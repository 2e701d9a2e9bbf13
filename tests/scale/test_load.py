"""The load scenario that ships with the project, run for a few seconds against gunicorn on
loopback: every page of the mix answers, and its writes land."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from leads.models import LeadNote
from leads.webforms.models import WebForm
from tests.deals.helpers import make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_load_scenario_runs_every_page_of_its_mix(
    rep: User, manager: User, settings: Any
) -> None:
    settings.WEBFORM_MIN_FILL_SECONDS = 0.2
    for n in range(5):
        make_lead(rep, owner=rep, first_name=f"Load{n}", last_name="Target")
    make_deal(rep, owner=rep, first_name="Deal", last_name="Maker")
    form = WebForm.objects.create(
        name="Contact us", slug="contact", fields=["first_name", "last_name", "email"]
    )
    notes_before = LeadNote.objects.count()

    output = io.StringIO()
    call_command("load_test", seconds=4, users=8, workers=1, json=True, stdout=output)
    summary = json.loads(output.getvalue())

    assert summary["errors"] == 0, json.dumps(summary["pages"])
    assert summary["users"] == {"reps": 6, "managers": 1, "visitors": 1}
    pages = summary["pages"]
    mix = ["lead list", "lead search", "lead detail", "log note", "deal list", "move deal"]
    for page in [*mix, "dashboard", "web form", "web form send"]:
        assert pages[page]["requests"] > 0, page
        assert 0 < pages[page]["p50_ms"] <= pages[page]["p95_ms"] <= pages[page]["p99_ms"]
    assert summary["requests"] == sum(row["requests"] for row in pages.values())
    assert summary["requests_per_second"] > 0
    assert summary["replicas"] == {}  # none configured here (tests/scale/test_replica.py)
    assert LeadNote.objects.count() > notes_before  # the notes were logged
    form.refresh_from_db()
    assert form.submissions > 0  # and the visitors' submissions accepted
