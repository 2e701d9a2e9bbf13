"""crm.models.full_clean_given: related rows handed over loaded are not looked up again,
a relation given by id alone still is, and a missing one is a ValidationError."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from crm.models import full_clean_given
from leads.models import LeadNote
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db


def test_loaded_relations_cost_no_query(django_assert_num_queries: Any) -> None:
    rep = make_user()
    lead = make_lead(rep, owner=rep)
    note = LeadNote(lead=lead, author=rep, kind=LeadNote.Kind.NOTE, body="Called back")
    with django_assert_num_queries(0):
        full_clean_given(note, validate_constraints=False)


def test_a_relation_given_by_id_is_still_checked(django_assert_num_queries: Any) -> None:
    rep = make_user()
    lead = make_lead(rep, owner=rep)
    note = LeadNote(lead_id=lead.pk, author=rep, kind=LeadNote.Kind.NOTE, body="Called back")
    with django_assert_num_queries(1):
        full_clean_given(note, validate_constraints=False)

    missing = lead.pk + 1000  # no lead has this id: the test database has only this one
    gone = LeadNote(lead_id=missing, author=rep, kind=LeadNote.Kind.NOTE, body="Called back")
    with pytest.raises(ValidationError) as error:
        full_clean_given(gone, validate_constraints=False)
    assert "lead" in error.value.message_dict


def test_a_required_relation_set_to_none_is_still_refused() -> None:
    rep = make_user()
    note = LeadNote(author=rep, kind=LeadNote.Kind.NOTE, body="Called back")
    note.lead = None  # type: ignore[assignment]
    with pytest.raises(ValidationError) as error:
        full_clean_given(note, validate_constraints=False)
    assert "lead" in error.value.message_dict
