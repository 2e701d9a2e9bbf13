"""The fake-data generator for performance work (and a smoke test of the benchmark).

COPY runs on the test's own connection, so these tests commit for real (transaction=True).
The flush afterwards empties the lists migration 0002 made; the generator puts back any
default source, lost reason or tag it finds missing, so no test depends on run order.
"""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role
from crm.models import AuditEvent
from leads.models import Lead, LeadNote
from leads.phones import normalize_phone
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = re.compile(r"^L-\d{6}$")


def generate(count: int, *extra: str) -> str:
    out = StringIO()
    call_command("generate_leads", "--count", str(count), *extra, stdout=out)
    return out.getvalue()


def test_generates_leads_notes_and_history_in_realistic_proportions() -> None:
    printed = generate(300, "--batch", "120")

    assert Lead.objects.count() == 300
    assert "Done: 300 leads" in printed
    notes, events = LeadNote.objects.count(), AuditEvent.objects.count()
    assert 1.1 * 300 <= notes <= 2.0 * 300  # ~1.5 per lead
    assert 0.7 * 300 <= events <= 1.3 * 300  # ~1 per lead

    numbers = list(Lead.objects.values_list("number", flat=True))
    assert all(NUMBER.match(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)

    statuses = Counter(Lead.objects.values_list("status", flat=True))
    assert 0.05 <= statuses["new"] / 300 <= 0.3
    closed = sum(statuses[s] for s in ["unqualified", "converted", "lost", "junk", "canceled"])
    assert closed + statuses["contacted"] > 150  # most leads were worked

    leads = list(Lead.objects.all())
    for lead in leads:
        assert lead.first_name or lead.last_name
        assert lead.email or lead.phone
        assert bool(lead.next_action) == (lead.next_action_due is not None)
        if lead.phone:
            assert lead.phone_normalized == normalize_phone(lead.phone, lead.country.code or "")
            assert lead.phone_normalized.startswith("+1555")
        if lead.owner_id:
            assert lead.team_id is not None
        assert lead.search  # the generated column was computed
    open_leads = [lead for lead in leads if lead.is_open]
    assert sum(bool(lead.next_action) for lead in open_leads) > len(open_leads) / 2
    assert any(lead.is_overdue for lead in open_leads)
    assert any(lead.tags.exists() for lead in leads)

    lead_type = ContentType.objects.get_for_model(Lead)
    labels = dict(Lead.Status.choices)
    by_id = {lead.pk: lead for lead in leads}
    for event in AuditEvent.objects.all():
        assert event.target_type_id == lead_type.pk
        assert event.action == AuditEvent.Action.STATUS
        old, new = event.changes["status"]
        assert {old, new} <= set(labels.values())
        lead = by_id[event.target_id]
        assert event.actor_id == lead.owner_id
    for note in LeadNote.objects.select_related("lead"):
        assert note.author_id == note.lead.owner_id
        assert note.created_at >= note.lead.created_at


def test_running_twice_adds_leads_but_not_people() -> None:
    generate(60)
    people = set(User.objects.values_list("email", flat=True))
    assert len(people) >= 10  # an empty database gets a sales floor

    generate(40)
    assert Lead.objects.count() == 100
    assert set(User.objects.values_list("email", flat=True)) == people
    assert Lead.objects.values("number").distinct().count() == 100


def test_benchmark_smoke() -> None:
    admin = make_user(email="bench.admin@example.com", role=Role.ADMIN)
    generate(50)
    out = StringIO()
    call_command(
        "benchmark_leads", "--runs", "1", "--warmup", "1", "--user", admin.email, stdout=out
    )
    printed = out.getvalue()
    assert "N = 50 leads" in printed
    header = next(line for line in printed.splitlines() if line.startswith("request"))
    assert header.split() == [
        "request", "status", "median", "ms", "p95", "ms", "queries", "SQL", "median", "ms",
        "page/SQL",
    ]  # fmt: skip
    assert "CSV export" in printed  # a line, whether the export view exists or not
    assert any(line.split()[:4] == ["home", "(my", "day)", "200"] for line in printed.splitlines())
    # The REST API's list, as the session's user, beside the page's.
    lines = [line.split()[:5] for line in printed.splitlines()]
    assert ["API", "list:", "first", "page", "200"] in lines
    assert ["API", "list:", "deep", "page", "200"] in lines
