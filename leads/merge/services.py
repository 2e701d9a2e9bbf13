"""Merging leads into one, and undoing it. Each runs in one transaction with every lead
involved locked (in id order, so two merges never deadlock) at the version the user saw.

Notes (calls, emails, web-form and email inquiries), received emails, tags and, through
``leads_merged``, the features' rows (follow-up tasks) move to the survivor; the others
stay in the table, marked merged and linked to the survivor (hidden everywhere by
``LeadQuerySet``). Their audit history is not rewritten: the survivor's timeline reads it
through ``merged_into`` (``leads.selectors.timeline_of``), so history stays append-only and
an undo has nothing to put back there. Notifications keep their target too: a merged-away
lead's URL leads to its survivor, and a reply to one finds it (``survivor_of``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from crm.models import AuditEvent, mark_merged
from leads.inbound.models import InboundEmail
from leads.merge.selectors import MERGE_FIELDS, default_choices
from leads.models import Lead, LeadMerge, LeadNote
from leads.scoring.services import rescore
from leads.services import require_work, save_with_history, snapshot
from leads.signals import lead_merge_undone, leads_merged

Status = Lead.Status

# Messages users see, kept here so the tests can assert the exact text.
MERGE_NEEDS_TWO = "Choose at least two different leads to merge."
MERGE_TOO_MANY = "Merge at most {limit} leads at once."
MERGE_NOT_FOUND = "{count} of these leads no longer exist or are not yours to merge."
MERGE_ALREADY_MERGED = "{numbers} was merged already; open the lead it became instead."
MERGE_CONVERTED = "{numbers} was converted to a deal; a converted lead cannot be merged."
MERGE_VERSION_MISSING = (
    "The merge did not say which version of each lead it was based on, so nothing was "
    "merged. Open the preview again."
)
MERGE_STALE = (
    "{numbers} changed since you opened the preview, so nothing was merged. Check the "
    "values again and merge."
)
MERGE_BAD_CHOICE = "The value for {field} must come from one of the leads being merged."
UNDO_ALREADY = "This merge was undone already."
UNDO_STALE = (
    "{number} changed after the merge, so undoing it would lose that change; nothing was "
    "undone. Edit the leads by hand instead."
)
UNDO_LEAD_CHANGED = "{numbers} changed after the merge; nothing was undone."
MERGE_LIMIT = 10
MERGED_NOTE = "Merged {numbers} into this lead."
MERGED_AWAY_NOTE = "Merged into {number}."
UNDONE_NOTE = "Undid the merge of {numbers} into this lead."
UNDONE_AWAY_NOTE = "The merge into {number} was undone."


def _numbers(leads: Sequence[Lead]) -> str:
    return ", ".join(lead.number for lead in leads)


def raw_value(record: Any, name: str) -> Any:
    """A field's stored value as JSON can keep it (and ``to_python`` read it back)."""
    field = record._meta.get_field(name)
    value = field.value_from_object(record)
    return None if value is None else field.value_to_string(record)


def set_raw_value(record: Any, name: str, raw: Any) -> None:
    field = record._meta.get_field(name)
    setattr(record, field.attname, None if raw is None else field.to_python(raw))


def resolve_choices(
    records: Sequence[Any],
    target: Any,
    choices: Mapping[str, int] | None,
    fields: dict[str, tuple[str, ...]],
) -> dict[str, int]:
    """Which record's value survives per field: the defaults, overridden by ``choices``."""
    ids = {record.pk for record in records}
    chosen = default_choices(records, target, fields)
    for name, record_id in (choices or {}).items():
        if name not in fields or record_id not in ids:
            raise ValidationError(MERGE_BAD_CHOICE.format(field=name))
        chosen[name] = record_id
    return chosen


def changed_fields(
    records: Sequence[Any], target: Any, chosen: dict[str, int], fields: dict[str, tuple[str, ...]]
) -> list[str]:
    """The fields of ``target`` that the chosen values change."""
    by_id = {record.pk: record for record in records}
    return [
        field
        for name, group in fields.items()
        if chosen[name] != target.pk
        for field in group
        if getattr(by_id[chosen[name]], field) != getattr(target, field)
    ]


def apply_choices(
    records: Sequence[Any], target: Any, chosen: dict[str, int], fields: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    """Copy the chosen values onto ``target``; returns the previous values of the fields
    that changed (raw, for undo)."""
    by_id = {record.pk: record for record in records}
    changed = changed_fields(records, target, chosen, fields)
    previous = {field: raw_value(target, field) for field in changed}
    for name, group in fields.items():
        for field in group:
            if field in changed:
                setattr(target, field, getattr(by_id[chosen[name]], field))
    return previous


def _lock(ids: Sequence[int]) -> list[Lead]:
    return list(
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk__in=sorted(ids))
        .order_by("pk")
    )


def _move(model: Any, field: str, rows: Mapping[str, list[int]], to: int) -> None:
    ids = [pk for pks in rows.values() for pk in pks]
    if ids:
        model.objects.filter(pk__in=ids).update(**{f"{field}_id": to})


def _rows_of(model: Any, field: str, lead_ids: Sequence[int]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for pk, lead_id in model.objects.filter(**{f"{field}_id__in": lead_ids}).values_list(
        "pk", f"{field}_id"
    ):
        found.setdefault(str(lead_id), []).append(pk)
    return found


@transaction.atomic
def leads_merge(
    *,
    actor: User,
    survivor: Lead,
    others: Sequence[Lead],
    choices: Mapping[str, int] | None = None,
    versions: Mapping[int, int | None],
) -> LeadMerge:
    """Merge ``others`` into ``survivor``. ``choices`` says, per field of ``MERGE_FIELDS``,
    which lead's value survives (default: the most recently updated non-empty one);
    ``versions`` is the version of every lead the user saw in the preview."""
    ids = sorted({survivor.pk, *(lead.pk for lead in others)})
    if len(ids) < 2:
        raise ValidationError(MERGE_NEEDS_TWO)
    if len(ids) > MERGE_LIMIT:
        raise ValidationError(MERGE_TOO_MANY.format(limit=MERGE_LIMIT))
    if any(versions.get(pk) is None for pk in ids):
        raise ValidationError(MERGE_VERSION_MISSING)
    locked = _lock(ids)
    visible = set(
        Lead.objects.visible_with_merged(actor).filter(pk__in=ids).values_list("pk", flat=True)
    )
    if len(locked) != len(ids) or visible != set(ids):
        raise ValidationError(MERGE_NOT_FOUND.format(count=len(ids) - len(visible & set(ids))))
    merged = [lead for lead in locked if lead.merged_into_id is not None]
    if merged:
        raise ValidationError(MERGE_ALREADY_MERGED.format(numbers=_numbers(merged)))
    stale = [lead for lead in locked if lead.version != versions[lead.pk]]
    if stale:
        raise ValidationError(MERGE_STALE.format(numbers=_numbers(stale)))
    for lead in locked:
        require_work(actor, lead)
    converted_ids = set(
        Lead.objects.filter(pk__in=ids, deal__isnull=False).values_list("pk", flat=True)
    )
    converted = [
        lead for lead in locked if lead.status == Status.CONVERTED or lead.pk in converted_ids
    ]
    if converted:
        raise ValidationError(MERGE_CONVERTED.format(numbers=_numbers(converted)))

    target = next(lead for lead in locked if lead.pk == survivor.pk)
    gone = [lead for lead in locked if lead.pk != target.pk]
    chosen = resolve_choices(locked, target, choices, MERGE_FIELDS)
    # The survivor's values: the chosen ones, its own previous values kept for undo.
    changed = changed_fields(locked, target, chosen, MERGE_FIELDS)
    before = snapshot(target, [f for f in changed if f != "phone_normalized"])
    raw_before = apply_choices(locked, target, chosen, MERGE_FIELDS)

    gone_ids = [lead.pk for lead in gone]
    moved: dict[str, dict[str, list[int]]] = {
        "notes": _rows_of(LeadNote, "lead", gone_ids),
        "inbound_emails": _rows_of(InboundEmail, "lead", gone_ids),
    }
    _move(LeadNote, "lead", moved["notes"], target.pk)
    _move(InboundEmail, "lead", moved["inbound_emails"], target.pk)
    Through = Lead.tags.through
    had = set(Through.objects.filter(lead_id=target.pk).values_list("tag_id", flat=True))
    added = sorted(
        set(Through.objects.filter(lead_id__in=gone_ids).values_list("tag_id", flat=True)) - had
    )
    if added:
        before["tags"] = target.display_value("tags")
        Through.objects.bulk_create([Through(lead_id=target.pk, tag_id=tag) for tag in added])
    for _, answer in leads_merged.send(Lead, survivor=target, others=gone):
        if isinstance(answer, dict):
            moved.update(answer)

    at = mark_merged(
        gone, into=target, actor=actor, note=MERGED_AWAY_NOTE.format(number=target.number)
    )
    target = save_with_history(
        target,
        actor=actor,
        action=AuditEvent.Action.UPDATED,
        before=before,
        fields=changed,
        note=MERGED_NOTE.format(numbers=_numbers(gone)),
    )
    return LeadMerge.objects.create(
        survivor=target,
        merged_ids=gone_ids,
        actor=actor,
        created_at=at,
        survivor_version=target.version,
        undo={
            "before": raw_before,
            "versions": {str(lead.pk): lead.version for lead in gone},
            "moved": moved,
            "tags_added": added,
        },
    )


@transaction.atomic
def lead_merge_undo(*, actor: User, merge: LeadMerge) -> Lead:
    """Put everything back as it was before ``merge``: the survivor's values, the rows that
    moved, the merged-away leads (visible again). Refused once the survivor (or one of
    them) has changed since, which an undo would silently overwrite."""
    merge = LeadMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.is_undone:
        raise ValidationError(UNDO_ALREADY)
    locked = _lock([merge.survivor_id, *merge.merged_ids])
    visible = set(
        Lead.objects.visible_with_merged(actor)
        .filter(pk__in=[lead.pk for lead in locked])
        .values_list("pk", flat=True)
    )
    if len(locked) != len(merge.merged_ids) + 1 or len(visible) != len(locked):
        raise ValidationError(
            MERGE_NOT_FOUND.format(count=len(merge.merged_ids) + 1 - len(visible))
        )
    by_id = {lead.pk: lead for lead in locked}
    target = by_id[merge.survivor_id]
    gone = [by_id[pk] for pk in sorted(merge.merged_ids)]
    if target.version != merge.survivor_version:
        raise ValidationError(UNDO_STALE.format(number=target.number))
    versions = merge.undo.get("versions", {})
    changed = [
        lead
        for lead in gone
        if lead.version != versions.get(str(lead.pk)) or lead.merged_into_id != target.pk
    ]
    if changed:
        raise ValidationError(UNDO_LEAD_CHANGED.format(numbers=_numbers(changed)))
    for lead in locked:
        require_work(actor, lead)

    raw_before: dict[str, Any] = merge.undo.get("before", {})
    shown = [f for f in raw_before if f != "phone_normalized"]
    before = snapshot(target, shown)
    for field, raw in raw_before.items():
        set_raw_value(target, field, raw)
    moved: dict[str, dict[str, list[int]]] = merge.undo.get("moved", {})
    for kind, model in (("notes", LeadNote), ("inbound_emails", InboundEmail)):
        for lead_id, pks in moved.get(kind, {}).items():
            model.objects.filter(pk__in=pks, lead_id=target.pk).update(lead_id=int(lead_id))
    lead_merge_undone.send(Lead, survivor=target, moved=moved)
    added = merge.undo.get("tags_added", [])
    if added:
        before["tags"] = target.display_value("tags")
        Lead.tags.through.objects.filter(lead_id=target.pk, tag_id__in=added).delete()

    at = mark_merged(
        gone, into=None, actor=actor, note=UNDONE_AWAY_NOTE.format(number=target.number)
    )
    # Their notes came back to them: so do the points those earn.
    rescore([lead.pk for lead in gone])
    target = save_with_history(
        target,
        actor=actor,
        action=AuditEvent.Action.UPDATED,
        before=before,
        fields=list(raw_before),
        note=UNDONE_NOTE.format(numbers=_numbers(gone)),
    )
    merge.undone_at = at
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    return target
