"""Routing a new lead by the assignment rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count

from accounts.models import Membership, Team, User
from crm.models import loaded
from leads.models import AssignmentRule, Lead, Tag

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


def _ids(values: Sequence[int | None] | None) -> set[int]:
    return {value for value in values or [] if value is not None}


@dataclass
class ActiveRule:
    """An active rule as routing reads it: with the ids of its sources and tags, and its
    team's active members (by id)."""

    rule: AssignmentRule
    source_ids: list[int]
    tag_ids: list[int]
    members: list[User]


def _matches(active: ActiveRule, lead: Lead, tag_ids: set[int], routing: Routing) -> bool:
    rule = active.rule
    sources = _ids(active.source_ids)
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
    tags = _ids(active.tag_ids)
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


# The rules and their teams' members, in one statement. A new lead from any channel reads
# this, so it is written out here: the ORM took 2½ ms to compile it, more than the
# database took to run it (benchmark_webforms). tests/leads/test_assignment.py holds it to
# the models it reads.
RULES_SQL = """
SELECT r.id, r.name, r.position, r.web_form_ids, r.mailbox_ids, r.countries, r.region,
       r.min_value, r.max_value, r.user_id, r.team_id, r.last_assigned_id,
       ARRAY(SELECT s.source_id FROM leads_assignmentrule_sources s
             WHERE s.assignmentrule_id = r.id) AS source_ids,
       ARRAY(SELECT t.tag_id FROM leads_assignmentrule_tags t
             WHERE t.assignmentrule_id = r.id) AS tag_ids,
       u.email, u.first_name, u.last_name, u.is_active, u.lead_capacity,
       team.name,
       (SELECT json_agg(json_build_array(m.id, m.email, m.first_name, m.last_name,
                                         m.lead_capacity) ORDER BY m.id)
          FROM accounts_user m JOIN accounts_membership ms ON ms.user_id = m.id
         WHERE ms.team_id = r.team_id AND ms.role = %s AND m.is_active) AS members
  FROM leads_assignmentrule r
  LEFT JOIN accounts_user u ON u.id = r.user_id
  LEFT JOIN accounts_team team ON team.id = r.team_id
 WHERE r.is_active
 ORDER BY r.position, r.id
"""
RULE_FIELDS = [
    "id",
    "name",
    "position",
    "web_form_ids",
    "mailbox_ids",
    "countries",
    "region",
    "min_value",
    "max_value",
    "user_id",
    "team_id",
    "last_assigned_id",
]
PERSON_FIELDS = ["id", "email", "first_name", "last_name", "is_active", "lead_capacity"]


def _person(values: Sequence[Any]) -> User:
    return loaded(User, dict(zip(PERSON_FIELDS, values, strict=True)))


def active_rules() -> list[ActiveRule]:
    """The active rules in order, each with its user or its team loaded. One query."""
    with connection.cursor() as cursor:
        cursor.execute(RULES_SQL, [Membership.Role.MEMBER])
        rows = cursor.fetchall()
    rules = []
    for row in rows:
        rule = loaded(AssignmentRule, dict(zip(RULE_FIELDS, row[:12], strict=True)))
        email, first_name, last_name, is_active, capacity, team_name, members = row[14:]
        if rule.user_id is not None:
            rule.user = _person([rule.user_id, email, first_name, last_name, is_active, capacity])
        if rule.team_id is not None:
            rule.team = loaded(Team, {"id": rule.team_id, "name": team_name})
        people = [_person([*m[:4], True, m[4]]) for m in members or []]
        rules.append(ActiveRule(rule, row[12], row[13], people))
    return rules


def matching_rule(lead: Lead, tags: Sequence[Tag], routing: Routing) -> ActiveRule | None:
    """The first active rule, in order, whose conditions all match the lead."""
    return first_matching(active_rules(), lead, {tag.pk for tag in tags}, routing)


def first_matching(
    rules: Sequence[ActiveRule], lead: Lead, tag_ids: set[int], routing: Routing
) -> ActiveRule | None:
    """The first of ``active_rules()`` whose conditions all match (for a batch of leads,
    such as an import, which loads the rules once)."""
    return next((rule for rule in rules if _matches(rule, lead, tag_ids, routing)), None)


def open_lead_counts(people: Sequence[User]) -> dict[int, int]:
    """How many open leads each of these people owns (one query)."""
    rows = (
        Lead.objects.open()
        .filter(owner__in=[p.pk for p in people])
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
    if person.lead_capacity is not None and not _has_room(person, open_lead_counts([person])):
        return Decision(
            None, f"Rule “{rule.name}”: {person} is at capacity; left unassigned.", rule
        )
    return Decision(person, f"Rule “{rule.name}” → {person}", rule)


# The next member after the one who got the last lead, set and read in one statement. It
# locks the rule's row until the transaction ends, and a second lead waiting on that lock
# computes its turn from the committed pointer (PostgreSQL re-reads the row it updates),
# so leads routed at the same moment take turns.
NEXT_TURN_SQL = """
UPDATE leads_assignmentrule
   SET last_assigned_id = COALESCE(
         (SELECT min(m) FROM unnest(%(ids)s::bigint[]) m WHERE m > COALESCE(last_assigned_id, 0)),
         (SELECT min(m) FROM unnest(%(ids)s::bigint[]) m))
 WHERE id = %(rule)s
RETURNING last_assigned_id
"""


def _round_robin(active: ActiveRule) -> Decision:
    """The next active member with room after the one who got the last lead. The rule's
    row stays locked until the caller's transaction ends, so concurrent leads take turns."""
    rule, members = active.rule, active.members
    team = rule.team
    assert team is not None  # noqa: S101  (the check constraint: a user or a team)
    if not members:
        return Decision(None, f"Rule “{rule.name}”: {team} has no active members.", rule)
    if any(member.lead_capacity is not None for member in members):
        return _round_robin_with_capacity(rule, team)
    with connection.cursor() as cursor:
        cursor.execute(NEXT_TURN_SQL, {"ids": [m.pk for m in members], "rule": rule.pk})
        row = cursor.fetchone()
    chosen = next(m for m in members if row is not None and m.pk == row[0])
    return Decision(chosen, f"Rule “{rule.name}” → round-robin {team} → {chosen}", rule)


def _round_robin_with_capacity(rule: AssignmentRule, team: Team) -> Decision:
    """Round-robin where someone has a capacity: lock the rule's row first, then count
    open leads, so two leads routed at once never both take a member's last place."""
    locked = AssignmentRule.objects.select_for_update().only("last_assigned_id").get(pk=rule.pk)
    members = list(
        User.objects.filter(
            is_active=True,
            memberships__team=team,
            memberships__role=Membership.Role.MEMBER,
        )
        .only(*PERSON_FIELDS)
        .order_by("pk")
    )
    if not members:
        return Decision(None, f"Rule “{rule.name}”: {team} has no active members.", rule)
    limited = [member for member in members if member.lead_capacity is not None]
    counts = open_lead_counts(limited) if limited else {}
    after = locked.last_assigned_id or 0
    turn = [m for m in members if m.pk > after] + [m for m in members if m.pk <= after]
    chosen = next((m for m in turn if _has_room(m, counts)), None)
    if chosen is None:
        return Decision(None, f"Rule “{rule.name}”: everyone in {team} is at capacity.", rule)
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return Decision(chosen, f"Rule “{rule.name}” → round-robin {team} → {chosen}", rule)


def route(lead: Lead, *, tags: Sequence[Tag] = (), routing: Routing | None = None) -> Decision:
    """Who should own this new lead, and why. Call inside the transaction that saves it."""
    active = matching_rule(lead, tags, routing or Routing())
    if active is None:
        return Decision(None, NO_RULE)
    return _to_person(active.rule) if active.rule.user_id is not None else _round_robin(active)
