"""Searching the lead list by the number shown everywhere: "L-000475" as shown, as typed
("l-000475", "475", "L-475"), a number typed in by hand, numbers in the current format
(``LeadSettings``) and the default one, scoped like any search, and answered by an index
(no sequential scan of the lead table)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from leads.filters import LeadFilter, lead_number_candidates
from leads.models import Lead, LeadSettings
from leads.selectors import choices_for
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def listed(user: User, query: str) -> list[str]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("leads:list"), {"q": query})
    assert response.status_code == 200
    return [lead.number for lead in response.context["page"].rows]


@pytest.fixture
def leads(rep: User) -> dict[str, Lead]:
    made = {
        "L-000475": make_lead(rep, owner=rep, number="L-000475", first_name="Nia"),
        "L-004750": make_lead(rep, owner=rep, number="L-004750", first_name="Ola"),
        "ACME-7": make_lead(rep, owner=rep, number="ACME-7", first_name="Pia"),
    }
    make_lead(rep, owner=rep, first_name="Quinn", phone="+1 212 555 0475")
    return made


@pytest.mark.parametrize("typed", ["L-000475", "l-000475", " L-000475 ", "475", "L-475"])
def test_the_number_as_shown_or_as_typed_finds_that_lead(
    rep: User, leads: dict[str, Lead], typed: str
) -> None:
    found = listed(rep, typed)
    assert "L-000475" in found
    assert "L-004750" not in found  # exact, not a fragment of another number


def test_a_number_typed_in_by_hand_is_found_as_it_is(rep: User, leads: dict[str, Lead]) -> None:
    assert listed(rep, "ACME-7") == ["ACME-7"]
    assert listed(rep, "acme-7") == ["ACME-7"]


def test_numbers_in_the_current_format_and_the_old_default_are_both_found(
    rep: User, leads: dict[str, Lead]
) -> None:
    LeadSettings.objects.update_or_create(
        pk=1, defaults={"number_prefix": "CRM", "number_width": 4}
    )
    newer = make_lead(rep, owner=rep, first_name="Rae")
    assert newer.number.startswith("CRM")
    digits = str(int(newer.number.removeprefix("CRM")))
    assert newer.number in listed(rep, digits)
    assert "L-000475" in listed(rep, "475")  # numbered before the change


def test_other_text_searches_still_work_alongside(rep: User, leads: dict[str, Lead]) -> None:
    assert len(listed(rep, "Quinn")) == 1
    assert len(listed(rep, "555 0475")) == 1  # a phone number stays a phone search


def test_a_number_the_user_cannot_see_is_not_found(
    rep_b: User, rep: User, leads: dict[str, Lead]
) -> None:
    assert listed(rep_b, "L-000475") == []


def test_candidates() -> None:
    assert "L-000475" in lead_number_candidates("475")
    assert lead_number_candidates("two words") == []
    assert lead_number_candidates("X" * 40) == []


@pytest.mark.parametrize("typed", ["L-000475", "475", "Nia"])
def test_the_search_uses_indexes_not_a_scan_of_the_lead_table(
    rep: User, admin: User, leads: dict[str, Lead], typed: str
) -> None:
    """With sequential scans priced out, a query that no index can answer still shows a
    Seq Scan: the plan proves the number match and the text match both have an index."""
    search = LeadFilter(
        {"q": typed}, queryset=Lead.objects.all(), user=admin, choices=choices_for(admin)
    )
    assert search.is_valid(), search.errors
    sql, params = search.qs.order_by().values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on leads_lead" not in plan, plan
