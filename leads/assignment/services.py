"""Routing a new lead by the assignment rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count

from accounts.models import Membership, User
from leads.models import AssignmentRule, Lead, Tag

# Columns of a user that choosing an owner never reads.
UNUSED_USER_FIELDS = [
    "password",
    "last_login",
    "is_superuser",
    "is_staff",
    "date_joined",
    "invitation_sent_at",
    "digest_enabled",
    "digest_hour",
    "timezone",
]
NO_RULE = "No assignment rule matched: the lead waits in the unassigned pool."


@dataclass(frozen=True)
class Routing:
    """Where a new lead came from, for the rules' conditions."""

    web_form_id: int | None = None
    mailbox_id: int | None = None


@dataclass(frozen=True)
class Decision:
    owner: User | None
    reason: str
    rule: AssignmentRule | None = None


def _ids(values: list[int | None] | None) -> set[int]:
    return {value for value in values or [] if value is not None}


def _matches(rule: Any, lead: Lead, tag_ids: set[int], routing: Routing) -> bool:
    sources = _ids(rule.source_ids)
    if sources and lead.source_id not in sources:
        return False
    if rule.web_form_ids and routing.web_form_id not in rule.web_form_ids:
        return False
    if rule.mailbox_ids and routing.mailbox_id not in rule.mailbox_ids:
        return False
    if rule.countries and str(lead.country or "") not in {str(c) for c in rule.countries}:
        return False
    if rule.region and rule.region.strip().lower() != (lead.region or "").strip().lower():
        return False
    tags = _ids(rule.tag_ids)
    if tags and not tags & tag_ids:
        return False
    if rule.min_value is not None or rule.max_value is not None:
        value: Decimal | None = lead.estimated_value
        if value is None:
            return False
        if rule.min_value is not None and value < rule.min_value:
            return False
        if rule.max_value is not None and value > rule.max_value:
            return False
    return True


def matching_rule(lead: Lead, tags: Sequence[Tag], routing: Routing) -> AssignmentRule | None:
    """The first active rule, in order, whose conditions all match the lead."""
    return first_matching(active_rules(), lead, {tag.pk for tag in tags}, routing)


def active_rules() -> list[AssignmentRule]:
    """The active rules in order, each with the ids of its sources and tags (one query)."""
    return list(
        AssignmentRule.objects.filter(is_active=True)
        .select_related("user")
        .defer(*(f"user__{name}" for name in UNUSED_USER_FIELDS))
        .annotate(
            source_ids=ArrayAgg("sources__id", distinct=True),
            tag_ids=ArrayAgg("tags__id", distinct=True),
        )
        .order_by("position", "pk")
    )


def first_matching(
    rules: Sequence[AssignmentRule], lead: Lead, tag_ids: set[int], routing: Routing
) -> AssignmentRule | None:
    """The first of ``active_rules()`` whose conditions all match (for a batch of leads,
    such as an import, which loads the rules once)."""
    return next((rule for rule in rules if _matches(rule, lead, tag_ids, routing)), None)


def open_lead_counts(people: Sequence[User]) -> dict[int, int]:
    """How many open leads each of these people owns (one query)."""
    rows = (
        Lead.objects.filter(owner__in=[p.pk for p in people], status__in=Lead.OPEN_STATUSES)
        .values("owner")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["owner"]: row["n"] for row in rows}


def _has_room(person: User, counts: dict[int, int]) -> bool:
    capacity = person.lead_capacity
    return capacity is None or counts.get(person.pk, 0) < capacity


def _to_person(rule: AssignmentRule) -> Decision:
    person = rule.user
    assert person is not None  # noqa: S101  (the check constraint: a user or a team)
    if not person.is_active:
        return Decision(None, f"Rule “{rule.name}”: {person} is inactive; left unassigned.", rule)
    if not _has_room(person, open_lead_counts([person])):
        return Decision(
            None, f"Rule “{rule.name}”: {person} is at capacity; left unassigned.", rule
        )
    return Decision(person, f"Rule “{rule.name}” → {person}", rule)


def _round_robin(rule: AssignmentRule) -> Decision:
    """The next active member with room after the one who got the last lead. The rule's
    row is locked until the caller's transaction ends, so concurrent leads take turns."""
    locked = AssignmentRule.objects.select_for_update(of=("self",)).select_related("team")
    rule = locked.only("name", "last_assigned_id", "team_id", "team__name").get(pk=rule.pk)
    team = rule.team
    assert team is not None  # noqa: S101
    members = list(
        User.objects.filter(
            is_active=True,
            memberships__team=team,
            memberships__role=Membership.Role.MEMBER,
        )
        .defer(*UNUSED_USER_FIELDS)
        .order_by("pk")
    )
    if not members:
        return Decision(None, f"Rule “{rule.name}”: {team} has no active members.", rule)
    # Open leads are counted only for those with a capacity (counting is the costly part).
    limited = [member for member in members if member.lead_capacity is not None]
    counts = open_lead_counts(limited) if limited else {}
    after = rule.last_assigned_id or 0
    turn = [m for m in members if m.pk > after] + [m for m in members if m.pk <= after]
    chosen = next((m for m in turn if _has_room(m, counts)), None)
    if chosen is None:
        return Decision(None, f"Rule “{rule.name}”: everyone in {team} is at capacity.", rule)
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return Decision(chosen, f"Rule “{rule.name}” → round-robin {team} → {chosen}", rule)


def route(lead: Lead, *, tags: Sequence[Tag] = (), routing: Routing | None = None) -> Decision:
    """Who should own this new lead, and why. Call inside the transaction that saves it."""
    rule = matching_rule(lead, tags, routing or Routing())
    if rule is None:
        return Decision(None, NO_RULE)
    return _to_person(rule) if rule.user_id is not None else _round_robin(rule)
