"""Reads for merging: which value of each field survives by default, the preview table,
and the merges a lead page can offer to undo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leads.models import Lead, LeadMerge

# What a merge chooses, field by field. Fields that belong together travel together: the
# phone with its normalised form, a next action with its due time, consent with its
# when/how/wording, the campaign's UTM fields with the pages the lead came through.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "company": ("company",),
    "job_title": ("job_title",),
    "email": ("email",),
    "phone": ("phone", "phone_normalized"),
    "website": ("website",),
    "country": ("country",),
    "region": ("region",),
    "source": ("source",),
    "utm_campaign": (
        "utm_campaign",
        "utm_source",
        "utm_medium",
        "utm_term",
        "utm_content",
        "referrer",
        "landing_page",
    ),
    "rate": ("rate",),
    "budget": ("budget",),
    "authority": ("authority",),
    "need": ("need",),
    "timeline": ("timeline",),
    "estimated_value": ("estimated_value",),
    "next_action": ("next_action", "next_action_due"),
    "description": ("description",),
    "marketing_consent": ("marketing_consent", "consent_at", "consent_source", "consent_text"),
}
MERGE_LABELS = {
    "utm_campaign": "Campaign (UTM)",
    "next_action": "Next action",
    "marketing_consent": "Marketing consent",
}


def is_empty(value: Any) -> bool:
    return value in ("", None, False) or (hasattr(value, "code") and not value.code)


def default_choices(leads: Sequence[Lead], survivor: Lead) -> dict[str, int]:
    """Per field, the lead whose value survives by default: the most recently updated one
    that has a value, else the survivor (all empty)."""
    newest_first = sorted(leads, key=lambda lead: (lead.updated_at, lead.pk), reverse=True)
    chosen = {}
    for name in MERGE_FIELDS:
        having = [lead for lead in newest_first if not is_empty(getattr(lead, name))]
        chosen[name] = having[0].pk if having else survivor.pk
    return chosen


def label_of(name: str) -> str:
    if name in MERGE_LABELS:
        return MERGE_LABELS[name]
    return str(getattr(Lead._meta.get_field(name), "verbose_name", name)).capitalize()


@dataclass
class PreviewRow:
    name: str
    label: str
    values: list[tuple[Lead, str]]  # each lead and how its value reads
    chosen: int  # the lead whose value survives
    differs: bool  # the leads disagree (else the row is only for reading)


def merge_preview(
    leads: Sequence[Lead], survivor: Lead, choices: dict[str, int]
) -> list[PreviewRow]:
    """The preview table: one row per field, one column per lead, the surviving value marked."""
    rows = []
    for name, fields in MERGE_FIELDS.items():
        values = []
        for lead in leads:
            shown = str(lead.display_value(name))
            if name == "next_action" and lead.next_action_due is not None:
                shown = f"{shown} (due {lead.next_action_due:%Y-%m-%d %H:%M})"
            values.append((lead, shown))
        distinct = {tuple(getattr(lead, f) for f in fields) for lead in leads}
        rows.append(
            PreviewRow(
                name=name,
                label=label_of(name),
                values=values,
                chosen=choices.get(name, survivor.pk),
                differs=len(distinct) > 1,
            )
        )
    return rows


def undoable_merges(lead: Lead) -> list[LeadMerge]:
    """The merges into this lead that can still be undone (the latest one while the lead is
    unchanged since), for the lead page's undo button."""
    return [
        merge
        for merge in LeadMerge.objects.filter(survivor=lead, undone_at__isnull=True)
        .select_related("actor")
        .order_by("-created_at", "-id")[:5]
        if merge.survivor_version == lead.version
    ]
