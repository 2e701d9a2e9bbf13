"""leads_merge and lead_merge_undo: which values survive, that everything moves to the
survivor and back, and every refusal (converted, scope, stale versions)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from crm.followups.models import Task
from crm.followups.services import task_create
from crm.models import AuditEvent
from leads import services as lead_services
from leads.merge import services
from leads.models import Lead, LeadNote, Tag
from leads.selectors import timeline_of
from tests.deals.helpers import make_deal
from tests.factories import make_lead
from tests.merge.helpers import fresh, merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(rep: User) -> tuple[Lead, Lead]:
    """An older lead with a company, and a newer one with a phone and a job title."""
    old = make_lead(rep, first_name="Ann", last_name="Lee", company="Acme", email="ann@acme.com")
    new = make_lead(
        rep,
        first_name="Anne",
        last_name="Lee",
        email="",
        phone="+49 30 1234567",
        job_title="CTO",
    )
    Lead.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    return fresh(old), fresh(new)


def test_most_recent_non_empty_value_survives(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    record = merge(rep, old, new)
    kept = fresh(old)
    assert kept.first_name == "Anne"  # both set: the newer one's
    assert kept.company == "Acme"  # only the older one has it
    assert kept.phone == "+49 30 1234567"
    assert kept.phone_normalized == fresh(new).phone_normalized
    assert kept.job_title == "CTO"
    assert kept.email == "ann@acme.com"
    assert kept.version == record.survivor_version == old.version + 1


def test_a_choice_overrides_the_default(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    merge(rep, old, new, choices={"first_name": old.pk})
    assert fresh(old).first_name == "Ann"


def test_the_merged_away_lead_is_marked_and_hidden(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    merge(rep, old, new)
    gone = fresh(new)
    assert gone.merged_into_id == old.pk
    assert gone.merged_at is not None
    assert gone.version == new.version + 1
    assert list(Lead.objects.visible_to(rep)) == [fresh(old)]


def test_notes_tasks_tags_and_history_follow_the_survivor(
    rep: User, twins: tuple[Lead, Lead], tag: Tag
) -> None:
    old, new = twins
    note = lead_services.lead_add_note(lead=new, actor=rep, kind="call", body="Called")
    task = task_create(
        actor=rep, title="Call back", due_at=timezone.now() + timedelta(days=1), lead=fresh(new)
    )
    lead_services.lead_add_tags(lead=fresh(new), actor=rep, tags=[tag])
    merge(rep, old, new)
    kept = fresh(old)
    assert LeadNote.objects.get(pk=note.pk).lead_id == kept.pk
    assert Task.objects.get(pk=task.pk).lead_id == kept.pk
    assert list(kept.tags.all()) == [tag]
    notes = [e.item for e in timeline_of(kept) if e.kind == "note"]
    assert note in notes
    events = [e.item for e in timeline_of(kept) if e.kind == "change"]
    # The merged-away lead's own history shows on the survivor's timeline, unrewritten.
    assert any(e.target_id == new.pk and e.action == AuditEvent.Action.TAGGED for e in events)
    assert events[0].note == services.MERGED_NOTE.format(numbers=new.number)


def test_undo_restores_exactly(rep: User, twins: tuple[Lead, Lead], tag: Tag) -> None:
    old, new = twins
    note = lead_services.lead_add_note(lead=new, actor=rep, kind="note", body="Hello")
    task = task_create(
        actor=rep, title="Call back", due_at=timezone.now() + timedelta(days=1), lead=fresh(new)
    )
    lead_services.lead_add_tags(lead=fresh(new), actor=rep, tags=[tag])
    fields = [f for fields in services.MERGE_FIELDS.values() for f in fields]
    old_values = {f: getattr(fresh(old), f) for f in fields}
    new_values = {f: getattr(fresh(new), f) for f in fields}
    record = merge(rep, old, new)
    services.lead_merge_undo(actor=rep, merge=record)
    assert {f: getattr(fresh(old), f) for f in fields} == old_values
    assert {f: getattr(fresh(new), f) for f in fields} == new_values
    assert fresh(new).merged_into_id is None
    assert fresh(new).merged_at is None
    assert LeadNote.objects.get(pk=note.pk).lead_id == new.pk
    assert Task.objects.get(pk=task.pk).lead_id == new.pk
    assert list(fresh(old).tags.all()) == []
    assert list(fresh(new).tags.all()) == [tag]
    assert set(Lead.objects.visible_to(rep)) == {fresh(old), fresh(new)}
    record.refresh_from_db()
    assert record.undone_by == rep
    with pytest.raises(ValidationError, match=services.UNDO_ALREADY):
        services.lead_merge_undo(actor=rep, merge=record)


def test_undo_keeps_values_of_every_type(rep: User) -> None:
    due = timezone.now().replace(microsecond=0) + timedelta(days=2)
    old = make_lead(rep, last_name="Lee", email="x@example.com", country="DE", budget="10.50")
    new = make_lead(
        rep,
        last_name="Lee",
        email="y@example.com",
        country="FR",
        budget=Decimal("99.99"),
        next_action="Call",
        next_action_due=due,
        marketing_consent=True,
        consent_at=due,
    )
    before = fresh(old)
    record = merge(rep, old, new)
    after = fresh(old)
    assert (after.country.code, after.budget, after.next_action_due) == (
        "FR",
        Decimal("99.99"),
        due,
    )
    assert after.marketing_consent
    services.lead_merge_undo(actor=rep, merge=record)
    back = fresh(old)
    for name in ("country", "budget", "next_action", "next_action_due", "consent_at"):
        assert getattr(back, name) == getattr(before, name), name
    assert not back.marketing_consent


def test_undo_is_refused_once_the_survivor_changed(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    record = merge(rep, old, new)
    kept = fresh(old)
    lead_services.lead_update(lead=kept, actor=rep, expected_version=kept.version, region="Bavaria")
    with pytest.raises(ValidationError) as refused:
        services.lead_merge_undo(actor=rep, merge=record)
    assert refused.value.messages == [services.UNDO_STALE.format(number=kept.number)]
    assert fresh(new).merged_into_id == old.pk


def test_a_converted_lead_is_refused(rep: User) -> None:
    deal = make_deal(rep, email="conv@example.com")
    other = make_lead(rep, email="conv@example.com")
    converted = deal.source_lead
    assert converted is not None
    for survivor, gone in ((other, converted), (converted, other)):
        with pytest.raises(ValidationError) as refused:
            merge(rep, survivor, gone)
        assert refused.value.messages == [services.MERGE_CONVERTED.format(numbers=converted.number)]
    assert fresh(other).merged_into_id is None


def test_a_stale_version_is_refused(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    seen = {old.pk: old.version, new.pk: new.version}
    lead_services.lead_update(lead=new, actor=rep, expected_version=new.version, region="Bavaria")
    with pytest.raises(ValidationError) as refused:
        services.leads_merge(actor=rep, survivor=old, others=[new], versions=seen)
    assert refused.value.messages == [services.MERGE_STALE.format(numbers=new.number)]
    assert fresh(new).merged_into_id is None
    with pytest.raises(ValidationError, match="did not say which version"):
        services.leads_merge(actor=rep, survivor=old, others=[new], versions={old.pk: 1})


def test_a_lead_merged_already_is_refused(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, new = twins
    third = make_lead(rep, last_name="Lee")
    merge(rep, old, new)
    with pytest.raises(ValidationError) as refused:
        merge(rep, third, new)
    assert refused.value.messages == [services.MERGE_ALREADY_MERGED.format(numbers=new.number)]


def test_a_manager_cannot_merge_another_teams_lead(
    manager: User, other_manager: User, rep: User
) -> None:
    ours = make_lead(rep, email="same@example.com")
    theirs = make_lead(other_manager, email="same@example.com")
    with pytest.raises(ValidationError) as refused:
        merge(manager, ours, theirs)
    assert refused.value.messages == [services.MERGE_NOT_FOUND.format(count=1)]
    assert fresh(theirs).merged_into_id is None


def test_a_rep_cannot_merge_a_lead_they_do_not_work_on(
    rep: User, rep_b: User, manager: User
) -> None:
    mine = make_lead(rep, email="same@example.com")
    pool = make_lead(manager, email="same@example.com")  # a manager's lead waits in the pool
    assert pool.owner_id is None
    with pytest.raises(ValidationError) as refused:
        merge(rep, mine, pool)
    assert refused.value.messages == [lead_services.CLAIM_FIRST]
    with pytest.raises(ValidationError):
        merge(rep_b, mine, pool)


def test_one_lead_is_not_a_merge(rep: User, twins: tuple[Lead, Lead]) -> None:
    old, _new = twins
    with pytest.raises(ValidationError, match=services.MERGE_NEEDS_TWO):
        merge(rep, old, old)


def test_an_open_task_its_assignee_could_not_see_goes_to_the_survivors_owner(
    rep: User, rep_b: User, manager: User
) -> None:
    mine = make_lead(rep, last_name="Lee", email="same@example.com")
    theirs = make_lead(rep_b, last_name="Lee", email="same@example.com")
    task = task_create(
        actor=rep_b, title="Call", due_at=timezone.now() + timedelta(days=1), lead=theirs
    )
    record = merge(manager, mine, theirs)
    moved = Task.objects.get(pk=task.pk)
    assert (moved.lead_id, moved.assignee_id) == (mine.pk, rep.pk)
    services.lead_merge_undo(actor=manager, merge=record)
    back = Task.objects.get(pk=task.pk)
    assert (back.lead_id, back.assignee_id) == (theirs.pk, rep_b.pk)
