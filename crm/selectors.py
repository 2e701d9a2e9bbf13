"""Reads that every record's pages share: a record's timeline of notes and changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from crm.models import AuditEvent


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "note" or "change"
    item: Any  # a note (LeadNote, DealNote) or an AuditEvent


def merged_timeline(
    notes: Iterable[Any], events: Iterable[AuditEvent], limit: int
) -> list[TimelineEntry]:
    """A record's notes (anything with ``created_at``) and its audit events, newest first."""
    entries = chain(
        (TimelineEntry(note.created_at, "note", note) for note in notes),
        (TimelineEntry(event.occurred_at, "change", event) for event in events),
    )
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]
