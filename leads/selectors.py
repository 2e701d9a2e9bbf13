"""Reads that pages share: choice lists, counts, the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, NullIf

from accounts.models import Scope, Team, User, access_scope, managed_scope_of, team_ids_of
from crm.models import AuditEvent
from crm.pagination import Sort
from crm.selectors import TimelineEntry, merged_timeline
from leads.models import Lead, LeadNote, LostReason, Source, Tag

LEAD_SORTS = {
    sort.key: sort
    for sort in [
        Sort("-created", "Newest first", "created_at", descending=True),
        Sort("created", "Oldest first", "created_at"),
        Sort("due", "Next action due", "next_action_due", nullable=True),
        Sort("name", "Last name A–Z", "last_name"),
        Sort("company", "Company A–Z", "company"),
        Sort("idle", "Longest without activity", "last_activity_at"),
        # Never-scored leads (score_rank NULL) come last both ways.
        Sort("-score", "Highest score first", "score_rank", descending=True, nullable=True),
        Sort("score", "Lowest score first", "score_rank", nullable=True),
    ]
}
DEFAULT_LEAD_SORT = "-created"


@dataclass
class Choices:
    """The short lists a lead page offers, loaded together in one query."""

    owners: list[tuple[int, str]] = field(default_factory=list)
    teams: list[tuple[int, str]] = field(default_factory=list)
    sources: list[tuple[int, str]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)
    lost_reasons: list[tuple[int, str]] = field(default_factory=list)


def _named(qs: QuerySet[Any], kind: str, name: Any = "name") -> QuerySet[Any]:
    return (
        qs.order_by()
        .annotate(
            kind=Value(kind, output_field=CharField()),
            label=name if not isinstance(name, str) else Coalesce(name, Value("")),
        )
        .values_list("kind", "id", "label")
    )


def choices_for(user: User) -> Choices:
    """Owners and teams the user may pick, plus sources, tags and lost reasons."""
    scope = access_scope(user)
    if scope == Scope.ALL:
        teams = Team.objects.all()
    elif scope == Scope.TEAM:
        teams = Team.objects.filter(pk__in=managed_scope_of(user)[0])
    else:
        teams = Team.objects.filter(pk__in=team_ids_of(user))
    person = Coalesce(
        NullIf(Concat("first_name", Value(" "), "last_name", output_field=CharField()), Value(" ")),
        "email",
        output_field=CharField(),
    )
    rows = _named(User.objects.visible_to(user).filter(is_active=True), "owner", person).union(
        _named(teams, "team"),
        _named(Source.objects.filter(is_active=True), "source"),
        _named(Tag.objects.all(), "tag"),
        _named(LostReason.objects.filter(is_active=True), "lost_reason"),
        all=True,
    )
    found = Choices()
    for kind, pk, label in rows:
        getattr(found, f"{kind}s").append((pk, label))
    for name in ("owners", "teams", "sources", "tags", "lost_reasons"):
        getattr(found, name).sort(key=lambda item: item[1].lower())
    return found


def estimated_lead_count() -> int:
    """The planner's estimate of all leads: instant, for the unfiltered admin list."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'leads_lead'")
        row = cursor.fetchone()
    return max(int(row[0]) if row else 0, 0)


def timeline_of(lead: Lead, limit: int = 50) -> list[TimelineEntry]:
    """Notes and field changes, newest first, in two queries whatever their number. The
    history of leads merged into this one is part of it (read where it was written: a
    merge moves notes, never rewrites history)."""
    notes = LeadNote.objects.filter(lead=lead).select_related("author")[:limit]
    # One IN over the lead and its merged-away leads: an OR of the two would make the
    # planner scan the whole audit table instead of crm_audit_target_idx.
    itself_and_merged = Lead.objects.filter(Q(pk=lead.pk) | Q(merged_into=lead)).values("pk")
    events = AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Lead), target_id__in=itself_and_merged
    ).select_related("actor")
    return merged_timeline(notes, events[:limit], limit)
