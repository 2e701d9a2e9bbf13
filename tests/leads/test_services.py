"""The lead services: status rules (each with its exact message), ownership, notes, history,
optimistic locking and bulk actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from crm.models import AuditEvent
from leads import services
from leads.models import Lead, LeadNote, LostReason, Tag
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

Status = Lead.Status


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, company="Acme", phone="+1 (555) 010-0199")


def history(lead: Lead) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_object(lead).order_by("occurred_at", "id"))


def with_next_action(lead: Lead, actor: User) -> Lead:
    return services.lead_set_next_action(
        lead=lead, actor=actor, next_action="Book a demo", due=timezone.now() + timedelta(days=1)
    )


# --- Creating -------------------------------------------------------------------------------


def test_create_numbers_the_lead_and_gives_it_to_the_rep(rep: User, team) -> None:
    lead = make_lead(rep, phone="(555) 010-0100", email="Ann@Example.COM")
    assert lead.number.startswith("L-")
    assert lead.owner == rep
    assert lead.team == team
    assert lead.status == Status.NEW
    assert lead.email == "ann@example.com"
    assert lead.phone == "(555) 010-0100"  # shown as typed
    assert lead.phone_normalized == "+15550100100"  # stored normalised
    assert lead.created_by == rep
    assert [event.action for event in history(lead)] == [AuditEvent.Action.CREATED]


def test_lead_numbers_are_sequential_and_skip_hand_typed_ones(rep: User) -> None:
    first = make_lead(rep)
    n = int(first.number.removeprefix("L-"))
    typed = make_lead(rep, number=f"L-{n + 1:06d}")
    after = make_lead(rep)
    assert typed.number == f"L-{n + 1:06d}"
    assert after.number == f"L-{n + 2:06d}"


def test_a_hand_typed_number_must_be_unique(rep: User, lead: Lead) -> None:
    with pytest.raises(ValidationError), transaction.atomic():
        make_lead(rep, number=lead.number)


def test_a_manager_creates_into_the_pool_or_for_a_team_member(
    manager: User, rep: User, other_manager: User
) -> None:
    pooled = make_lead(manager)
    assert pooled.owner is None
    assert pooled.team is not None
    given = make_lead(manager, owner=rep)
    assert given.owner == rep
    with pytest.raises(ValidationError) as error:
        make_lead(manager, owner=other_manager)
    assert error.value.messages == [services.ASSIGNEE_OUT_OF_SCOPE.format(user=other_manager)]


def test_a_rep_cannot_create_a_lead_for_someone_else(rep: User, rep_b: User) -> None:
    with pytest.raises(ValidationError) as error:
        make_lead(rep, owner=rep_b)
    assert error.value.messages == [services.ASSIGN_NOT_ALLOWED]


def test_a_lead_needs_a_name_and_a_way_to_reach_them(rep: User) -> None:
    with pytest.raises(ValidationError) as error:
        make_lead(rep, first_name="", last_name="", email="x@example.com")
    assert "Enter a first or a last name." in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(first_name="No", last_name="Contact")  # the database says no too


# --- Status rules ---------------------------------------------------------------------------


def test_converted_only_through_conversion(rep: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=rep, status=Status.CONVERTED)
    assert error.value.messages == [services.CONVERT_ONLY_BY_CONVERSION]


@pytest.mark.parametrize("status", [Status.LOST, Status.UNQUALIFIED])
def test_lost_and_unqualified_need_a_reason(rep: User, lead: Lead, reason, status) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=rep, status=status)
    assert error.value.messages == [services.REASON_REQUIRED.format(status=status.label)]
    lead = services.lead_change_status(lead=lead, actor=rep, status=status, reason=reason)
    assert lead.status == status
    assert lead.lost_reason == reason
    assert lead.closed_at is not None


def test_qualified_needs_a_next_action(rep: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=rep, status=Status.QUALIFIED)
    assert error.value.messages == [services.QUALIFIED_NEEDS_NEXT_ACTION]
    lead = with_next_action(lead, rep)
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.QUALIFIED)
    assert lead.status == Status.QUALIFIED
    assert lead.qualified_at is not None
    assert lead.first_contacted_at is not None


def test_qualified_needs_an_owner(manager: User) -> None:
    pooled = make_lead(manager)
    pooled = with_next_action(pooled, manager)
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=pooled, actor=manager, status=Status.QUALIFIED)
    assert error.value.messages == [services.QUALIFIED_NEEDS_OWNER]


def test_a_qualified_lead_keeps_its_next_action(rep: User, lead: Lead) -> None:
    lead = with_next_action(lead, rep)
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.QUALIFIED)
    with pytest.raises(ValidationError) as error:
        services.lead_set_next_action(lead=lead, actor=rep, next_action="", due=None)
    assert error.value.messages == [services.QUALIFIED_NEEDS_NEXT_ACTION]


def test_first_contact_is_stamped_once(rep: User, lead: Lead) -> None:
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.NOT_CONTACTED)
    assert lead.first_contacted_at is None  # tried, no answer: not a contact yet
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.CONTACTED)
    stamped = lead.first_contacted_at
    assert stamped is not None
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.NOT_CONTACTED)
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.CONTACTED)
    assert lead.first_contacted_at == stamped


def test_reopening_a_closed_lead_is_for_managers(
    rep: User, manager: User, lead: Lead, reason: LostReason
) -> None:
    lead = services.lead_change_status(lead=lead, actor=rep, status=Status.LOST, reason=reason)
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=rep, status=Status.CONTACTED)
    assert error.value.messages == [services.REOPEN_NEEDS_MANAGER]
    assert services.status_moves(lead, rep) == []
    lead = services.lead_change_status(lead=lead, actor=manager, status=Status.CONTACTED)
    assert lead.status == Status.CONTACTED
    assert lead.closed_at is None
    assert lead.lost_reason is None


def test_moving_to_the_same_status_says_so(rep: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=rep, status=Status.NEW)
    assert error.value.messages == [services.ALREADY_IN_STATUS.format(status="New")]


def test_every_status_change_is_in_the_history_with_who_and_when(
    rep: User, lead: Lead, reason: LostReason
) -> None:
    services.lead_change_status(lead=lead, actor=rep, status=Status.CONTACTED)
    services.lead_change_status(lead=lead, actor=rep, status=Status.LOST, reason=reason)
    events = [e for e in history(lead) if e.action == AuditEvent.Action.STATUS]
    assert [e.changes["status"] for e in events] == [["New", "Contacted"], ["Contacted", "Lost"]]
    assert events[1].changes["lost reason"] == ["", "No budget"]
    assert all(e.actor == rep and e.occurred_at is not None for e in events)


def test_a_converted_lead_stays_converted(rep: User, manager: User, lead: Lead) -> None:
    Lead.objects.filter(pk=lead.pk).update(status=Status.CONVERTED, converted_at=timezone.now())
    lead.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=lead, actor=manager, status=Status.CONTACTED)
    assert error.value.messages == [services.CONVERTED_IS_FINAL]


# --- Who may do what -----------------------------------------------------------------------


def test_a_rep_claims_from_the_pool_first_come_first_served(
    manager: User, rep: User, rep_b: User
) -> None:
    pooled = make_lead(manager)
    with pytest.raises(ValidationError) as error:
        services.lead_change_status(lead=pooled, actor=rep, status=Status.CONTACTED)
    assert error.value.messages == [services.CLAIM_FIRST]
    stale = Lead.objects.get(pk=pooled.pk)
    claimed = services.lead_claim(lead=pooled, actor=rep)
    assert claimed.owner == rep
    with pytest.raises(ValidationError) as error:
        services.lead_claim(lead=stale, actor=rep_b)
    assert error.value.messages == [services.ALREADY_CLAIMED.format(owner=rep)]
    assert [e.action for e in history(pooled)][-1] == AuditEvent.Action.CLAIMED


def test_only_managers_and_admins_assign(
    rep: User, rep_b: User, manager: User, admin: User, lead: Lead
) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_assign_owner(lead=lead, actor=rep, owner=rep_b)
    assert error.value.messages == [services.ASSIGN_NOT_ALLOWED]
    lead = services.lead_assign_owner(lead=lead, actor=manager, owner=rep_b)
    assert lead.owner == rep_b
    event = history(lead)[-1]
    assert event.action == AuditEvent.Action.ASSIGNED
    assert event.changes["owner"] == [str(rep), str(rep_b)]
    assert services.lead_assign_owner(lead=lead, actor=admin, owner=None).owner is None


def test_a_manager_cannot_assign_outside_their_teams(
    manager: User, other_manager: User, lead: Lead
) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_assign_owner(lead=lead, actor=manager, owner=other_manager)
    assert error.value.messages == [services.ASSIGNEE_OUT_OF_SCOPE.format(user=other_manager)]


def test_nobody_can_be_given_leads_once_deactivated(manager: User, rep_b: User, lead: Lead) -> None:
    rep_b.is_active = False
    rep_b.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as error:
        services.lead_assign_owner(lead=lead, actor=manager, owner=rep_b)
    assert error.value.messages == [services.ASSIGNEE_INACTIVE.format(user=rep_b)]


def test_a_rep_cannot_work_on_another_reps_lead(rep_b: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_add_note(lead=lead, actor=rep_b, kind="note", body="Hi")
    assert error.value.messages == [services.NOT_YOUR_LEAD.format(owner=lead.owner)]


# --- Notes, next actions, tags --------------------------------------------------------------


def test_logging_a_call_is_the_first_contact(rep: User, lead: Lead) -> None:
    note = services.lead_add_note(
        lead=lead, actor=rep, kind=LeadNote.Kind.CALL, body="Talked pricing", outcome="Keen"
    )
    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED
    assert lead.first_contacted_at == note.created_at
    status_event = history(lead)[-1]
    assert status_event.changes == {"status": ["New", "Contacted"]}
    assert status_event.note == "Logged a call"


def test_a_plain_note_is_not_a_contact(rep: User, lead: Lead) -> None:
    services.lead_add_note(lead=lead, actor=rep, kind=LeadNote.Kind.NOTE, body="Found on LinkedIn")
    lead.refresh_from_db()
    assert lead.status == Status.NEW
    assert lead.first_contacted_at is None


def test_a_next_action_needs_both_what_and_when(rep: User, lead: Lead) -> None:
    with pytest.raises(ValidationError) as error:
        services.lead_set_next_action(lead=lead, actor=rep, next_action="Call", due=None)
    assert error.value.messages == [services.NEXT_ACTION_NEEDS_DUE]
    with pytest.raises(ValidationError) as error:
        services.lead_set_next_action(lead=lead, actor=rep, next_action="", due=timezone.now())
    assert error.value.messages == [services.NEXT_ACTION_NEEDS_TEXT]


def test_tags_are_added_once_and_recorded(rep: User, lead: Lead, tag: Tag) -> None:
    services.lead_add_tags(lead=lead, actor=rep, tags=[tag])
    services.lead_add_tags(lead=lead, actor=rep, tags=[tag])
    assert list(lead.tags.all()) == [tag]
    tagged = [e for e in history(lead) if e.action == AuditEvent.Action.TAGGED]
    assert len(tagged) == 1
    assert tagged[0].changes == {"tags": ["", "Priority"]}


# --- Optimistic locking ---------------------------------------------------------------------


def test_an_edit_based_on_an_old_version_is_refused_with_what_changed(
    rep: User, manager: User, lead: Lead
) -> None:
    seen_version = lead.version
    services.lead_update(
        lead=lead, actor=manager, expected_version=seen_version, phone="+1 555 010 0111"
    )
    with pytest.raises(services.LeadConflict) as conflict:
        services.lead_update(lead=lead, actor=rep, expected_version=seen_version, company="Other")
    assert str(conflict.value) == services.CONFLICT
    changes = conflict.value.changes
    assert [(e.actor, list(e.changes)) for e in changes] == [(manager, ["phone"])]
    lead.refresh_from_db()
    assert lead.company == "Acme"  # nothing overwritten


def test_an_edit_records_old_and_new_values(rep: User, lead: Lead) -> None:
    lead = services.lead_update(
        lead=lead, actor=rep, expected_version=lead.version, company="Acme Corp", job_title="CTO"
    )
    event = history(lead)[-1]
    assert event.action == AuditEvent.Action.UPDATED
    assert event.changes == {"company": ["Acme", "Acme Corp"], "job title": ["", "CTO"]}
    assert event.target_version == lead.version


# --- Bulk -----------------------------------------------------------------------------------


def test_bulk_status_applies_the_same_rules_row_by_row(
    manager: User, rep: User, reason: LostReason
) -> None:
    fine = make_lead(rep)
    converted = make_lead(rep)
    Lead.objects.filter(pk=converted.pk).update(
        status=Status.CONVERTED, converted_at=timezone.now()
    )
    converted.refresh_from_db()
    result = services.lead_bulk_apply(
        actor=manager, leads=[fine, converted], action="status", status=Status.LOST, reason=reason
    )
    assert result.done == [fine]
    assert result.skipped == [(converted, services.CONVERTED_IS_FINAL)]
    fine.refresh_from_db()
    assert fine.status == Status.LOST
