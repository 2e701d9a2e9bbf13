"""Every change to a lead goes through these functions: views, bulk actions, imports,
commands and tasks call them, and each records its own history in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.timezone import now

from accounts.models import Membership, Scope, Team, User, access_scope
from accounts.roles import Capability
from crm.models import AuditEvent, Notification, audit, full_clean_given, save_checked
from crm.notifications import build_notification, notify_many
from leads.assignment.services import Routing, route
from leads.models import Lead, LeadNote, LeadSettings, LostReason, Tag
from leads.phones import normalize_phone
from leads.scoring.services import rescore, rescore_lead, score_bands, suggested_rate
from leads.signals import lead_owner_changed
from leads.sla.services import Recipients, contact_deadline

Status = Lead.Status

# Messages users see, kept here so the tests can assert the exact text.
CONVERT_ONLY_BY_CONVERSION = "A lead becomes Converted only through Convert, from Qualified."
REASON_REQUIRED = "Choose a reason to mark this lead {status}."
QUALIFIED_NEEDS_OWNER = "A qualified lead needs an owner: assign or claim it first."
QUALIFIED_NEEDS_NEXT_ACTION = "A qualified lead needs a next action with a due date."
REOPEN_NEEDS_MANAGER = "Only a manager can reopen a closed lead."
CONVERTED_IS_FINAL = "A converted lead stays converted; work on its deal instead."
ALREADY_IN_STATUS = "The lead is already {status}."
CLAIM_FIRST = "Claim this lead before working on it."
NOT_YOUR_LEAD = "This belongs to {owner}; ask a manager to reassign it."
ASSIGN_NOT_ALLOWED = "Only managers and admins can assign leads to someone."
ROUTE_ONLY_UNASSIGNED = "It has an owner already; the rules route only unassigned leads."
ROUTE_ONLY_OPEN = "It is closed; the rules route only open leads."
ASSIGNEE_OUT_OF_SCOPE = "{user} is not in a team you manage."
ASSIGNEE_INACTIVE = "{user} is deactivated and cannot own leads."
ALREADY_CLAIMED = "{owner} claimed this lead a moment ago."
NOT_UNASSIGNED = "Only unassigned leads can be claimed."
NEXT_ACTION_NEEDS_DUE = "Give the next action a due date."
NEXT_ACTION_NEEDS_TEXT = "Say what the next action is."
CONFLICT = "Someone else changed this lead while you were looking at it."
CONVERTED_IS_READ_ONLY = "A converted lead is read-only: edit its deal, contact or company."
TAG_CREATE_NOT_ALLOWED = (
    "Only admins can create new tags here; pick an existing one instead of: {names}."
)
TAG_TOO_LONG = "“{name}” is too long for a tag: keep it to {limit} characters."
TAG_MAX_LENGTH = 40
NEVER_SCORED = "This lead has not been scored yet, so there is no rate to suggest."
RATE_ALREADY = "The lead is already rated {rate}."
LOGGED_CONTACT = {
    "call": "Logged a call",
    "email": "Logged an email",
    "meeting": "Logged a meeting",
}

# What the edit form may change directly (status and owner have their own services).
EDITABLE_FIELDS = [
    "number",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "email",
    "phone",
    "website",
    "country",
    "region",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "rate",
    "budget",
    "authority",
    "need",
    "timeline",
    "estimated_value",
    "next_action",
    "next_action_due",
    "description",
    "marketing_consent",
    "consent_at",
    "consent_source",
]
# Set by the capture channels (web forms, inbound email), not typed in by users.
CAPTURE_FIELDS = [
    "utm_term",
    "utm_content",
    "referrer",
    "landing_page",
    "consent_text",
]


class OwnedRecord(Protocol):
    """A record with an owner: a lead, a deal, a contact, a company."""

    owner_id: int | None
    owner: Any


class LeadConflict(Exception):
    """A write based on an old version of the lead; carries what changed since."""

    def __init__(self, lead: Lead, since_version: int) -> None:
        super().__init__(CONFLICT)
        self.lead = lead
        self.since_version = since_version

    @property
    def changes(self) -> list[AuditEvent]:
        return list(
            AuditEvent.objects.for_object(self.lead)
            .filter(target_version__gt=self.since_version)
            .order_by("occurred_at", "id")
        )


# --- Permissions ------------------------------------------------------------------------


def can_work_on(user: User, lead: OwnedRecord) -> bool:
    """Reps work on their own records; managers and admins on any record they can see
    (what they can see is ``visible_to``'s business). Leads, deals, contacts alike."""
    return access_scope(user) != Scope.OWN or lead.owner_id == user.pk


def can_assign(user: User) -> bool:
    return user.has_perm(f"accounts.{Capability.ASSIGN_OWNER}")


def can_reopen(user: User) -> bool:
    return user.has_perm(f"accounts.{Capability.REOPEN_RECORD}")


def require_work(user: User, lead: OwnedRecord) -> None:
    if can_work_on(user, lead):
        return
    if lead.owner_id is None:
        raise ValidationError(CLAIM_FIRST)
    raise ValidationError(NOT_YOUR_LEAD.format(owner=lead.owner))


def check_assignee(actor: User, owner: User) -> None:
    if not owner.is_active:
        raise ValidationError(ASSIGNEE_INACTIVE.format(user=owner))
    if not User.objects.visible_to(actor).filter(pk=owner.pk).exists():
        raise ValidationError(ASSIGNEE_OUT_OF_SCOPE.format(user=owner))


def _team_for(owner: User | None, fallback: User | None) -> int | None:
    """The team a lead belongs to: its owner's first team, else the creator's."""
    for person in (owner, fallback):
        if person is not None:
            team_id = (
                Membership.objects.filter(user=person)
                .order_by("team_id")
                .values_list("team_id", flat=True)
                .first()
            )
            if team_id is not None:
                return team_id
    return None


# --- Internals --------------------------------------------------------------------------


def _locked(lead: Lead, expected_version: int | None) -> Lead:
    """The lead's row, locked for this transaction, at the version the user saw."""
    locked = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    if expected_version is not None and locked.version != expected_version:
        raise LeadConflict(locked, since_version=expected_version)
    return locked


def snapshot(lead: Lead, fields: Iterable[str]) -> dict[str, Any]:
    return {name: lead.display_value(name) for name in fields}


def _label(name: str) -> str:
    field = Lead._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def save_with_history(
    lead: Lead,
    *,
    actor: User | None,
    action: AuditEvent.Action,
    before: dict[str, Any],
    fields: list[str],
    note: str = "",
) -> Lead:
    lead.version += 1
    lead.updated_at = lead.last_activity_at = now()
    # Validate the touched fields here; the database checks the constraints on save.
    touched = {*fields, *before}
    untouched = [f.name for f in Lead._meta.concrete_fields if f.name not in touched]
    full_clean_given(lead, exclude=untouched, validate_unique=False, validate_constraints=False)
    save_checked(lead, update_fields=[*fields, "version", "updated_at", "last_activity_at"])
    # Every change through the services is activity too: the score follows in the same
    # transaction (one statement; ``leads.scoring``).
    rescore_lead(lead)
    after = snapshot(lead, before)
    changes = {
        _label(name): (before[name], after[name]) for name in before if before[name] != after[name]
    }
    audit(target=lead, actor=actor, action=action, changes=changes, note=note)
    return lead


def mark_first_contact(lead: Lead, at: datetime) -> list[str]:
    """Stamp the first contact and how long it took (the dashboards' response time)."""
    lead.first_contacted_at = at
    lead.first_response_time = max(at - lead.created_at, timedelta(0))
    return ["first_contacted_at", "first_response_time"]


def apply_status(lead: Lead, status: str, reason: LostReason | None, at: datetime) -> list[str]:
    """Set a status and the timestamps it implies; returns the fields touched."""
    touched = ["status"]
    was_open = lead.is_open
    lead.status = status
    if status in (Status.CONTACTED, Status.QUALIFIED) and lead.first_contacted_at is None:
        touched += mark_first_contact(lead, at)
    if status == Status.NEW and lead.first_contacted_at is None:
        # Back to New without ever being contacted: it waits again, on a fresh deadline
        # (and may be alerted again: the alerts' keys carry the deadline).
        lead.sla_due_at = contact_deadline(at)
        lead.sla_alerted_at = lead.sla_escalated_at = None
        touched += ["sla_due_at", "sla_alerted_at", "sla_escalated_at"]
    if status == Status.QUALIFIED and lead.qualified_at is None:
        lead.qualified_at = at
        touched.append("qualified_at")
    if status in Lead.REASON_STATUSES:
        lead.lost_reason = reason
        touched.append("lost_reason")
    elif lead.lost_reason_id is not None:
        lead.lost_reason = None
        touched.append("lost_reason")
    if lead.is_open:
        if lead.closed_at is not None:
            lead.closed_at = None
            touched.append("closed_at")
    elif was_open or lead.closed_at is None:
        lead.closed_at = at
        touched.append("closed_at")
    return touched


def _check_status_move(lead: Lead, status: str, actor: User, reason: LostReason | None) -> None:
    label = Status(status).label
    if status == lead.status:
        raise ValidationError(ALREADY_IN_STATUS.format(status=label))
    if status == Status.CONVERTED:
        raise ValidationError(CONVERT_ONLY_BY_CONVERSION)
    if lead.status == Status.CONVERTED:
        raise ValidationError(CONVERTED_IS_FINAL)
    if not lead.is_open and not can_reopen(actor):
        raise ValidationError(REOPEN_NEEDS_MANAGER)
    if status in Lead.REASON_STATUSES and reason is None:
        raise ValidationError(REASON_REQUIRED.format(status=label))
    if status == Status.QUALIFIED:
        if lead.owner_id is None:
            raise ValidationError(QUALIFIED_NEEDS_OWNER)
        if not lead.next_action or lead.next_action_due is None:
            raise ValidationError(QUALIFIED_NEEDS_NEXT_ACTION)


def status_moves(lead: Lead, user: User) -> list[str]:
    """The statuses this user can move this lead to from the detail page."""
    if lead.status == Status.CONVERTED or not can_work_on(user, lead):
        return []
    if not lead.is_open and not can_reopen(user):
        return []
    return [s for s in Status.values if s not in (lead.status, Status.CONVERTED)]


# --- Services ---------------------------------------------------------------------------


def lead_create_here(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    tags: Iterable[Tag] = (),
    new_tags: Iterable[str] = (),
    routing: Routing | None = None,
    **data: Any,
) -> Lead:
    """Create a lead. Reps own what they create; managers may give it to their people.
    ``new_tags`` are tag names, made if they do not exist yet (where the actor may).
    A lead nobody owns is routed by the assignment rules (``leads.assignment``; ``routing``
    says which web form or mailbox it came through); the new owner is told, and if no
    rule finds one, the team's managers are.

    ``actor`` None: the lead arrived by itself (a web form, an email, see
    ``leads.capture``); ``team`` is the pool it falls into if nobody owns it.

    This is ``lead_create`` without a transaction (or savepoint) of its own, for a caller
    whose transaction ends on any error (``leads.capture``); everyone else calls
    ``lead_create``."""
    if actor is not None and owner is not None and owner != actor:
        if not can_assign(actor):
            raise ValidationError(ASSIGN_NOT_ALLOWED)
        check_assignee(actor, owner)
    elif actor is not None and owner is None and access_scope(actor) == Scope.OWN:
        owner = actor
    unknown = set(data) - set(EDITABLE_FIELDS) - set(CAPTURE_FIELDS)
    if unknown:
        raise TypeError(f"lead_create() got fields it does not set: {sorted(unknown)}")
    if actor is None and new_tags:
        raise TypeError("lead_create() makes new tags only for a person (actor)")
    numbered_by_hand = bool(data.get("number"))
    if not numbered_by_hand:
        data.pop("number", None)  # the database numbers it
    lead = Lead(**data, owner=owner, created_by=actor)
    lead.email = lead.email.strip().lower()
    lead.phone_normalized = normalize_phone(lead.phone, str(lead.country or ""))
    tags = list(tags)
    if actor is not None and new_tags:
        tags += tags_named(actor=actor, names=new_tags)
    decision = None
    if owner is None:
        decision = route(lead, tags=tags, routing=routing)
        owner = lead.owner = decision.owner
    if decision is not None and decision.owner is not None and decision.rule is not None:
        lead.team_id = decision.rule.team_id or _team_for(owner, None)
    elif owner is None and team is not None:
        lead.team_id = team.pk
    else:
        lead.team_id = _team_for(owner, actor)
    if lead.status == Status.NEW:
        lead.sla_due_at = contact_deadline(lead.created_at)
    # The related records were handed over as loaded rows: no query to check each exists.
    given = ["search", "owner", "created_by", "team", "source", "lost_reason"]
    lead.full_clean(
        exclude=given if numbered_by_hand else [*given, "number"],
        validate_constraints=False,
    )
    # A number typed by hand may be taken (a constraint refuses it, and the caller may go
    # on); the database's own numbers are not.
    save_checked(lead, savepoint=numbered_by_hand)
    if tags:
        Through = Lead.tags.through
        Through.objects.bulk_create(
            [Through(lead_id=lead.pk, tag_id=tag.pk) for tag in {t.pk: t for t in tags}.values()]
        )
    rescore_lead(lead)
    audit(
        target=lead,
        actor=actor,
        action=AuditEvent.Action.CREATED,
        note=decision.reason if decision is not None else "",
    )
    if owner is not None and owner != actor:
        tell_new_owner(lead, owner, why=decision.reason if decision is not None else "")
    elif decision is not None:
        tell_pool_managers(lead, why=decision.reason, actor=actor)
    return lead


lead_create = transaction.atomic(lead_create_here)


def tell_new_owner(lead: Lead, owner: User, *, why: str = "") -> None:
    """Whoever is given a lead (by a rule or by a manager) hears of it."""
    notify_many(
        [
            build_notification(
                user=owner,
                kind=Notification.Kind.LEAD_RECEIVED,
                key=f"lead:{lead.pk}:received:{owner.pk}:{lead.version}",
                title=f"New lead for you: {lead.full_name or lead.number}"
                + (f" ({lead.company})" if lead.company else ""),
                body=why,
                url=lead.get_absolute_url(),
                target=lead,
            )
        ]
    )


def tell_pool_managers(lead: Lead, *, why: str, actor: User | None = None) -> None:
    """A new lead no rule could route: the managers of its team (every team's, if it has
    none) hear that it waits in the pool; not the manager who just created it."""
    notify_many(
        [
            build_notification(
                user=manager,
                kind=Notification.Kind.UNROUTED,
                key=f"lead:{lead.pk}:unrouted",
                title=f"New lead in the pool: {lead.full_name or lead.number}",
                body=why,
                url=lead.get_absolute_url(),
                target=lead,
            )
            for manager in Recipients().managers(lead.team_id)
            if actor is None or manager.pk != actor.pk
        ]
    )


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    actor: User,
    expected_version: int | None,
    tags: Iterable[Tag] | None = None,
    new_tags: Iterable[str] = (),
    **data: Any,
) -> Lead:
    """Edit the lead's details. Refused if someone else saved it since ``expected_version``.
    ``tags`` replaces the lead's tags; ``new_tags`` (names) are added, made if need be."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"lead_update() got fields it does not set: {sorted(unknown)}")
    lead = _locked(lead, expected_version)
    require_work(actor, lead)
    if lead.status == Status.CONVERTED:
        raise ValidationError(CONVERTED_IS_READ_ONLY)
    new_tags = list(new_tags)
    touches_tags = tags is not None or bool(new_tags)
    before = snapshot(lead, [*data, *(["tags"] if touches_tags else [])])
    for name, value in data.items():
        setattr(lead, name, value)
    if touches_tags:
        kept = list(tags) if tags is not None else list(lead.tags.all())
        lead.tags.set([*kept, *tags_named(actor=actor, names=new_tags)])
    lead.email = lead.email.strip().lower()
    fields = list(data)
    if "phone" in data or "country" in data:
        lead.phone_normalized = normalize_phone(lead.phone, str(lead.country or ""))
        fields.append("phone_normalized")
    if lead.status == Status.QUALIFIED and (not lead.next_action or not lead.next_action_due):
        raise ValidationError(QUALIFIED_NEEDS_NEXT_ACTION)
    return save_with_history(
        lead, actor=actor, action=AuditEvent.Action.UPDATED, before=before, fields=fields
    )


@transaction.atomic
def lead_change_status(
    *,
    lead: Lead,
    actor: User,
    status: str,
    reason: LostReason | None = None,
    expected_version: int | None = None,
    note: str = "",
) -> Lead:
    lead = _locked(lead, expected_version)
    require_work(actor, lead)
    _check_status_move(lead, status, actor, reason)
    tracked = ["status", "lost_reason"]
    before = snapshot(lead, tracked)
    fields = apply_status(lead, status, reason, now())
    return save_with_history(
        lead, actor=actor, action=AuditEvent.Action.STATUS, before=before, fields=fields, note=note
    )


@transaction.atomic
def lead_assign_owner(
    *, lead: Lead, actor: User, owner: User | None, expected_version: int | None = None
) -> Lead:
    """Give the lead to someone (or back to the pool). Managers and admins only."""
    if not can_assign(actor):
        raise ValidationError(ASSIGN_NOT_ALLOWED)
    if owner is not None:
        check_assignee(actor, owner)
    lead = _locked(lead, expected_version)
    if lead.owner_id == (owner.pk if owner else None):
        return lead
    if owner is None and lead.status == Status.QUALIFIED:
        raise ValidationError(QUALIFIED_NEEDS_OWNER)
    team_id = _team_for(owner, actor) if owner is not None else lead.team_id
    return _hand_over(lead, actor=actor, owner=owner, team_id=team_id, why=f"Assigned by {actor}.")


def _hand_over(
    lead: Lead,
    *,
    actor: User,
    owner: User | None,
    team_id: int | None,
    note: str = "",
    why: str = "",
) -> Lead:
    """Give a locked lead to ``owner`` (None: the pool): tell the features above (its open
    tasks follow it), keep the history, and tell the new owner unless they did it."""
    before = snapshot(lead, ["owner", "team"])
    lead_owner_changed.send(Lead, lead=lead, old_owner_id=lead.owner_id, new_owner=owner)
    lead.owner = owner
    lead.team_id = team_id
    lead = save_with_history(
        lead,
        actor=actor,
        action=AuditEvent.Action.ASSIGNED,
        before=before,
        fields=["owner", "team"],
        note=note,
    )
    if owner is not None and owner != actor:
        tell_new_owner(lead, owner, why=why)
    return lead


@transaction.atomic
def lead_route(*, lead: Lead, actor: User) -> Lead:
    """Run the assignment rules on a lead waiting in the pool (managers and admins). A
    lead no rule can place stays where it is, with the reason as the refusal."""
    if not can_assign(actor):
        raise ValidationError(ASSIGN_NOT_ALLOWED)
    lead = _locked(lead, None)
    if lead.owner_id is not None:
        raise ValidationError(ROUTE_ONLY_UNASSIGNED)
    if not lead.is_open:
        raise ValidationError(ROUTE_ONLY_OPEN)
    decision = route(lead, tags=list(lead.tags.all()))
    if decision.owner is None:
        raise ValidationError(decision.reason)
    rule_team = decision.rule.team_id if decision.rule is not None else None
    team_id = rule_team or _team_for(decision.owner, None) or lead.team_id
    return _hand_over(
        lead,
        actor=actor,
        owner=decision.owner,
        team_id=team_id,
        note=decision.reason,
        why=decision.reason,
    )


@transaction.atomic
def lead_claim(*, lead: Lead, actor: User, expected_version: int | None = None) -> Lead:
    """Take an unassigned lead from the pool. First come, first served. With
    ``expected_version`` (the API's If-Match) a lead changed since is a ``LeadConflict``."""
    locked = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    if locked.owner_id == actor.pk:
        return locked
    if expected_version is not None and locked.version != expected_version:
        raise LeadConflict(locked, since_version=expected_version)
    if locked.owner_id is not None:
        if lead.owner_id is None:  # it was free when the user looked
            raise ValidationError(ALREADY_CLAIMED.format(owner=locked.owner))
        raise ValidationError(NOT_UNASSIGNED)
    before = snapshot(locked, ["owner", "team"])
    locked.owner = actor
    locked.team_id = _team_for(actor, actor) or locked.team_id
    return save_with_history(
        locked,
        actor=actor,
        action=AuditEvent.Action.CLAIMED,
        before=before,
        fields=["owner", "team"],
    )


@transaction.atomic
def lead_set_next_action(
    *,
    lead: Lead,
    actor: User,
    next_action: str,
    due: datetime | None,
    expected_version: int | None = None,
) -> Lead:
    """Set (or clear) what happens next."""
    next_action = next_action.strip()
    if next_action and due is None:
        raise ValidationError(NEXT_ACTION_NEEDS_DUE)
    if due is not None and not next_action:
        raise ValidationError(NEXT_ACTION_NEEDS_TEXT)
    lead = _locked(lead, expected_version)
    require_work(actor, lead)
    if lead.status == Status.CONVERTED:
        raise ValidationError(CONVERTED_IS_READ_ONLY)
    if not next_action and lead.status == Status.QUALIFIED:
        raise ValidationError(QUALIFIED_NEEDS_NEXT_ACTION)
    before = snapshot(lead, ["next_action", "next_action_due"])
    lead.next_action = next_action
    lead.next_action_due = due
    return save_with_history(
        lead,
        actor=actor,
        action=AuditEvent.Action.NEXT_ACTION,
        before=before,
        fields=["next_action", "next_action_due"],
    )


@transaction.atomic
def lead_add_note(
    *,
    lead: Lead,
    actor: User,
    kind: str,
    body: str,
    outcome: str = "",
    next_step: str = "",
) -> LeadNote:
    """Log a call, email, meeting or note. A logged contact counts as the first contact."""
    lead = _locked(lead, None)
    require_work(actor, lead)
    note = LeadNote(
        lead=lead,
        kind=kind,
        body=body.strip(),
        outcome=outcome.strip(),
        next_step=next_step.strip(),
        author=actor,
    )
    full_clean_given(note, validate_constraints=False)
    save_checked(note)
    # A note is work on the lead, not a change to it: no new version, no edit conflict.
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=note.created_at)
    if kind in LeadNote.CONTACT_KINDS and lead.status == Status.NEW:
        before = snapshot(lead, ["status"])
        fields = apply_status(lead, Status.CONTACTED, None, note.created_at)
        save_with_history(
            lead,
            actor=actor,
            action=AuditEvent.Action.STATUS,
            before=before,
            fields=fields,
            note=LOGGED_CONTACT[kind],
        )
    else:
        # The note counts towards the engagement rules (save_with_history rescored above).
        if kind in LeadNote.CONTACT_KINDS and lead.first_contacted_at is None:
            lead.save(update_fields=mark_first_contact(lead, note.created_at))
        rescore([lead.pk])
    return note


@transaction.atomic
def lead_apply_suggested_rate(
    *, lead: Lead, actor: User, expected_version: int | None = None
) -> Lead:
    """Set the rate the score suggests (hot / warm / cold by ``LeadSettings``' thresholds),
    as an edit like any other: same permission, same history. Rescoring never sets a rate;
    only a person does, here or in the edit form."""
    lead = _locked(lead, expected_version)
    require_work(actor, lead)
    if lead.status == Status.CONVERTED:
        raise ValidationError(CONVERTED_IS_READ_ONLY)
    if lead.scored_at is None:
        raise ValidationError(NEVER_SCORED)
    rate = suggested_rate(lead.score, score_bands())
    if lead.rate == rate:
        raise ValidationError(RATE_ALREADY.format(rate=Lead.Rate(rate).label))
    before = snapshot(lead, ["rate"])
    lead.rate = rate
    return save_with_history(
        lead,
        actor=actor,
        action=AuditEvent.Action.UPDATED,
        before=before,
        fields=["rate"],
        note=f"Suggested by its score of {lead.score}",
    )


def can_create_tags(user: User) -> bool:
    """Everyone may add a tag that does not exist yet, unless an admin has said only they may."""
    return LeadSettings.current().reps_can_create_tags or user.has_perm(
        f"accounts.{Capability.MANAGE_SETTINGS}"
    )


def tag_names(text: str) -> list[str]:
    """ "Reconnect in Q3, referral" → the names, trimmed, each once (ignoring case)."""
    seen: dict[str, str] = {}
    for raw in text.split(","):
        name = " ".join(raw.split())
        if name:
            seen.setdefault(name.lower(), name)
    return list(seen.values())


@transaction.atomic
def tags_named(*, actor: User, names: Iterable[str]) -> list[Tag]:
    """The tags with these names (matched ignoring case); the missing ones are created,
    if the actor may create tags."""
    wanted: dict[str, str] = {}
    for name in (" ".join(n.split()) for n in names):
        if name:
            wanted.setdefault(name.lower(), name)
    if not wanted:
        return []
    found: list[Tag] = list(Tag.objects.annotate(key=Lower("name")).filter(key__in=list(wanted)))
    missing = [name for key, name in wanted.items() if key not in {t.name.lower() for t in found}]
    if missing and not can_create_tags(actor):
        raise ValidationError(TAG_CREATE_NOT_ALLOWED.format(names=", ".join(missing)))
    for name in missing:
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationError(TAG_TOO_LONG.format(name=name, limit=TAG_MAX_LENGTH))
        # Someone may have made the same tag a moment ago: take theirs.
        tag, _ = Tag.objects.get_or_create(name__iexact=name, defaults={"name": name})
        found.append(tag)
    return found


@transaction.atomic
def lead_add_tags(*, lead: Lead, actor: User, tags: Iterable[Tag]) -> Lead:
    lead = _locked(lead, None)
    require_work(actor, lead)
    new = [tag for tag in tags if tag not in set(lead.tags.all())]
    if not new:
        return lead
    before = snapshot(lead, ["tags"])
    lead.tags.add(*new)
    return save_with_history(
        lead, actor=actor, action=AuditEvent.Action.TAGGED, before=before, fields=[]
    )


# --- Bulk actions -----------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[Lead] = field(default_factory=list)
    skipped: list[tuple[Lead, str]] = field(default_factory=list)


def lead_bulk_apply(
    *, actor: User, leads: Iterable[Lead], action: str, **params: Any
) -> BulkResult:
    """Run one service per lead, each in its own transaction, with the same checks as a
    single edit. A lead that breaks a rule is skipped with its reason; the rest go on."""
    services = {
        "assign": lambda lead: lead_assign_owner(lead=lead, actor=actor, owner=params["owner"]),
        "status": lambda lead: lead_change_status(
            lead=lead, actor=actor, status=params["status"], reason=params.get("reason")
        ),
        "tag": lambda lead: lead_add_tags(lead=lead, actor=actor, tags=[params["tag"]]),
        "route": lambda lead: lead_route(lead=lead, actor=actor),
    }
    service = services[action]
    result = BulkResult()
    for lead in leads:
        try:
            service(lead)
        except ValidationError as error:
            result.skipped.append((lead, " ".join(error.messages)))
        else:
            result.done.append(lead)
    return result
