"""Merging contacts into one, and undoing it: the same rules as ``leads.merge.services``
(one transaction, every contact locked in id order at the version the user saw, the
actor must be able to work on each), with the contact's deals following the survivor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from accounts.models import User
from crm.models import AuditEvent, audit, mark_merged
from deals.models import Contact, ContactMerge, Deal
from leads.merge.services import (
    MERGE_ALREADY_MERGED,
    MERGE_LIMIT,
    MERGE_VERSION_MISSING,
    UNDO_ALREADY,
    apply_choices,
    changed_fields,
    resolve_choices,
    set_raw_value,
)
from leads.services import require_work

CONTACT_MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "email": ("email",),
    "phone": ("phone", "phone_normalized"),
    "job_title": ("job_title",),
    "company": ("company",),
}

# Messages users see, kept here so the tests can assert the exact text.
CONTACTS_NEED_TWO = "Choose at least two different contacts to merge."
CONTACTS_TOO_MANY = "Merge at most {limit} contacts at once."
CONTACTS_NOT_FOUND = "{count} of these contacts no longer exist or are not yours to merge."
CONTACTS_STALE = "{names} changed since you opened the preview, so nothing was merged."
CONTACT_UNDO_STALE = (
    "{name} changed after the merge, so undoing it would lose that change; nothing was undone."
)
CONTACT_MERGED_NOTE = "Merged {names} into this contact."
CONTACT_MERGED_AWAY_NOTE = "Merged into {name}."
CONTACT_UNDONE_NOTE = "Undid the merge of {names} into this contact."


def _names(contacts: Sequence[Contact]) -> str:
    return ", ".join(str(contact) for contact in contacts)


def _lock(ids: Sequence[int]) -> list[Contact]:
    return list(
        Contact.objects.select_for_update(of=("self",))
        .select_related("owner", "company")
        .filter(pk__in=sorted(ids))
        .order_by("pk")
    )


def _check_scope(actor: User, locked: list[Contact], ids: Sequence[int]) -> None:
    visible = set(
        Contact.objects.visible_with_merged(actor).filter(pk__in=ids).values_list("pk", flat=True)
    )
    if len(locked) != len(ids) or visible != set(ids):
        raise ValidationError(CONTACTS_NOT_FOUND.format(count=len(ids) - len(visible & set(ids))))
    for contact in locked:
        require_work(actor, contact)


def _save(contact: Contact, *, actor: User, fields: list[str], note: str, before: Any) -> None:
    contact.version += 1
    contact.updated_at = now()
    contact.save(update_fields=[*fields, "version", "updated_at"])
    after = {name: str(getattr(contact, name) or "") for name in before}
    audit(
        target=contact,
        actor=actor,
        action=AuditEvent.Action.UPDATED,
        changes={
            name: (before[name], after[name]) for name in before if before[name] != after[name]
        },
        note=note,
    )


@transaction.atomic
def contacts_merge(
    *,
    actor: User,
    survivor: Contact,
    others: Sequence[Contact],
    choices: Mapping[str, int] | None = None,
    versions: Mapping[int, int | None],
) -> ContactMerge:
    """Merge ``others`` into ``survivor``: the chosen values (default: the most recently
    updated non-empty one), their deals to the survivor, the others hidden and linked."""
    ids = sorted({survivor.pk, *(contact.pk for contact in others)})
    if len(ids) < 2:
        raise ValidationError(CONTACTS_NEED_TWO)
    if len(ids) > MERGE_LIMIT:
        raise ValidationError(CONTACTS_TOO_MANY.format(limit=MERGE_LIMIT))
    if any(versions.get(pk) is None for pk in ids):
        raise ValidationError(MERGE_VERSION_MISSING)
    locked = _lock(ids)
    _check_scope(actor, locked, ids)
    merged = [contact for contact in locked if contact.merged_into_id is not None]
    if merged:
        raise ValidationError(MERGE_ALREADY_MERGED.format(numbers=_names(merged)))
    stale = [contact for contact in locked if contact.version != versions[contact.pk]]
    if stale:
        raise ValidationError(CONTACTS_STALE.format(names=_names(stale)))

    target = next(contact for contact in locked if contact.pk == survivor.pk)
    gone = [contact for contact in locked if contact.pk != target.pk]
    chosen = resolve_choices(locked, target, choices, CONTACT_MERGE_FIELDS)
    changed = changed_fields(locked, target, chosen, CONTACT_MERGE_FIELDS)
    before = {name: str(getattr(target, name) or "") for name in changed}
    raw_before = apply_choices(locked, target, chosen, CONTACT_MERGE_FIELDS)

    gone_ids = [contact.pk for contact in gone]
    moved: dict[str, list[int]] = {}
    for pk, contact_id in Deal.objects.filter(contact_id__in=gone_ids).values_list(
        "pk", "contact_id"
    ):
        moved.setdefault(str(contact_id), []).append(pk)
    deal_ids = [pk for pks in moved.values() for pk in pks]
    if deal_ids:
        Deal.objects.filter(pk__in=deal_ids).update(contact=target)

    at = mark_merged(
        gone, into=target, actor=actor, note=CONTACT_MERGED_AWAY_NOTE.format(name=target)
    )
    _save(
        target,
        actor=actor,
        fields=changed,
        note=CONTACT_MERGED_NOTE.format(names=_names(gone)),
        before=before,
    )
    return ContactMerge.objects.create(
        survivor=target,
        merged_ids=gone_ids,
        actor=actor,
        created_at=at,
        survivor_version=target.version,
        undo={
            "before": raw_before,
            "versions": {str(contact.pk): contact.version for contact in gone},
            "moved": {"deals": moved},
        },
    )


@transaction.atomic
def contact_merge_undo(*, actor: User, merge: ContactMerge) -> Contact:
    """Put the survivor's values and the moved deals back, the merged-away contacts visible
    again; refused once any of them changed since."""
    merge = ContactMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.is_undone:
        raise ValidationError(UNDO_ALREADY)
    ids = [merge.survivor_id, *merge.merged_ids]
    locked = _lock(ids)
    _check_scope(actor, locked, ids)
    target = next(contact for contact in locked if contact.pk == merge.survivor_id)
    gone = [contact for contact in locked if contact.pk != target.pk]
    versions = merge.undo.get("versions", {})
    changed = [
        c for c in gone if c.version != versions.get(str(c.pk)) or c.merged_into_id != target.pk
    ]
    if target.version != merge.survivor_version or changed:
        raise ValidationError(CONTACT_UNDO_STALE.format(name=target if not changed else changed[0]))

    raw_before: dict[str, Any] = merge.undo.get("before", {})
    before = {name: str(getattr(target, name) or "") for name in raw_before}
    for field, raw in raw_before.items():
        set_raw_value(target, field, raw)
    for contact_id, pks in merge.undo.get("moved", {}).get("deals", {}).items():
        Deal.objects.filter(pk__in=pks, contact=target).update(contact_id=int(contact_id))

    at = mark_merged(gone, into=None, actor=actor, note=f"The merge into {target} was undone.")
    _save(
        target,
        actor=actor,
        fields=list(raw_before),
        note=CONTACT_UNDONE_NOTE.format(names=_names(gone)),
        before=before,
    )
    merge.undone_at = at
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    return target
