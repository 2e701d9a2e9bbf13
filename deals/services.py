"""Every change to deals, contacts and companies goes through these functions, with its
history written in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from accounts.models import User
from accounts.roles import Capability
from crm.models import AuditEvent, audit, full_clean_given, save_checked
from deals.models import Company, Contact, Deal, DealNote, DealStageChange, Stage
from deals.signals import deal_owner_changed, lead_converted
from leads.models import Lead, LostReason
from leads.phones import normalize_phone
from leads.services import (
    ASSIGN_NOT_ALLOWED,
    NEXT_ACTION_NEEDS_DUE,
    NEXT_ACTION_NEEDS_TEXT,
    LeadConflict,
    apply_status,
    can_assign,
    can_reopen,
    check_assignee,
    require_work,
    save_with_history,
    snapshot,
)

CONVERT_NOT_ALLOWED = "Your role does not allow converting leads."
CONVERT_NOT_QUALIFIED = "Only a qualified lead can be converted: qualify it first."
CONVERT_ALREADY = "This lead was already converted."
CONVERT_NEEDS_OPEN_STAGE = "Start the deal in an open stage."
CONVERT_NEEDS_TITLE = "Give the deal a title."
LOST_NEEDS_REASON = "Choose a reason to mark this deal lost."
ALREADY_IN_STAGE = "The deal is already in {stage}."
REOPEN_DEAL_NEEDS_MANAGER = "Only a manager can reopen a won or lost deal."
DEAL_CONFLICT = "Someone else changed this deal while you were looking at it."
STAGE_INACTIVE = "{stage} is no longer in use."


class DealConflict(Exception):
    def __init__(self, deal: Deal, since_version: int) -> None:
        super().__init__(DEAL_CONFLICT)
        self.deal = deal
        self.since_version = since_version

    @property
    def changes(self) -> list[AuditEvent]:
        return list(
            AuditEvent.objects.for_object(self.deal)
            .filter(target_version__gt=self.since_version)
            .order_by("occurred_at", "id")
        )


def domain_of(*candidates: str) -> str:
    """A company's domain from a website or a work email ("" for webmail)."""
    for value in candidates:
        value = (value or "").strip().lower()
        if not value:
            continue
        host = (
            value.split("@", 1)[1]
            if "@" in value
            else urlsplit(value if "//" in value else f"//{value}").hostname or ""
        )
        host = host.removeprefix("www.")
        if host and host not in WEBMAIL:
            return host
    return ""


WEBMAIL = {
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "live.com",
    "msn.com",
}


def matching_contacts(user: User, lead: Lead) -> list[Contact]:
    """Existing contacts the conversion should offer first: same email or phone."""
    if not lead.email and not lead.phone_normalized:
        return []
    from django.db.models import Q

    match = Q(pk__in=[])
    if lead.email:
        match |= Q(email=lead.email)
    if lead.phone_normalized:
        match |= Q(phone_normalized=lead.phone_normalized)
    return list(Contact.objects.visible_to(user).filter(match).select_related("company")[:5])


def matching_companies(user: User, lead: Lead) -> list[Company]:
    """Existing companies with the lead's company name or domain."""
    from django.db.models import Q

    match = Q(pk__in=[])
    if lead.company.strip():
        match |= Q(name__iexact=lead.company.strip())
    domain = domain_of(lead.website, lead.email)
    if domain:
        match |= Q(domain=domain)
    return list(Company.objects.visible_to(user).filter(match)[:5])


def proposed_deal_title(lead: Lead, company: Company | None) -> str:
    """The convert form's suggestion: "<Company> – <Lead name>", numbered "(2)", "(3)"… when
    the company (the one it will be linked to) already has a deal of that title. Not one
    "<Company>: new deal" for every lead."""
    name = lead.full_name.strip()
    base = " – ".join(part for part in (lead.company.strip(), name) if part) or lead.number
    base = base[: (Deal._meta.get_field("title").max_length or 200) - 5]  # room for " (99)"
    if company is None:
        return base
    taken = set(Deal.objects.filter(company=company).values_list("title", flat=True))
    title, number = base, 1
    while title in taken:
        number += 1
        title = f"{base} ({number})"
    return title


def _record_stage(
    deal: Deal,
    *,
    actor: User,
    from_stage: Stage | None,
    at: datetime,
    entered_at: datetime | None = None,
) -> None:
    """``entered_at``: when the deal entered ``from_stage`` (its stage_changed_at before
    this move), kept on the row for time in stage."""
    DealStageChange.objects.create(
        deal=deal,
        from_stage=from_stage,
        to_stage=deal.stage,
        actor=actor,
        changed_at=at,
        from_stage_entered_at=entered_at if from_stage is not None else None,
    )


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    actor: User,
    title: str,
    value: Decimal,
    stage: Stage,
    expected_close_date: date | None = None,
    owner: User | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    currency: str = "",
    expected_version: int | None = None,
) -> Deal:
    """Turn a qualified lead into a deal, linking (or creating) its contact and company.
    One transaction: if any step fails, nothing of it is left behind."""
    if not actor.has_perm(f"accounts.{Capability.CONVERT_LEAD}"):
        raise ValidationError(CONVERT_NOT_ALLOWED)
    locked = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    if expected_version is not None and locked.version != expected_version:
        raise LeadConflict(locked, since_version=expected_version)
    require_work(actor, locked)
    if locked.status == Lead.Status.CONVERTED:
        raise ValidationError(CONVERT_ALREADY)
    if locked.status != Lead.Status.QUALIFIED:
        raise ValidationError(CONVERT_NOT_QUALIFIED)
    if stage.kind != Stage.Kind.OPEN or not stage.is_active:
        raise ValidationError(CONVERT_NEEDS_OPEN_STAGE)
    if not title.strip():
        raise ValidationError(CONVERT_NEEDS_TITLE)
    owner = owner or locked.owner or actor
    if owner != locked.owner and owner != actor:
        if not can_assign(actor):
            raise ValidationError(ASSIGN_NOT_ALLOWED)
        check_assignee(actor, owner)
    at = now()
    team_id = locked.team_id
    if company is None and locked.company.strip():
        company = Company(
            name=locked.company.strip(),
            domain=domain_of(locked.website, locked.email),
            website=locked.website,
            owner=owner,
            team_id=team_id,
            created_by=actor,
        )
        full_clean_given(company, validate_constraints=False)
        save_checked(company)
        audit(
            target=company,
            actor=actor,
            action=AuditEvent.Action.CREATED,
            note=f"From lead {locked.number}",
        )
    if contact is None:
        contact = Contact(
            first_name=locked.first_name,
            last_name=locked.last_name,
            email=locked.email,
            phone=locked.phone,
            phone_normalized=locked.phone_normalized,
            job_title=locked.job_title,
            company=company,
            owner=owner,
            team_id=team_id,
            source_lead=locked,
            created_by=actor,
        )
        full_clean_given(contact, validate_constraints=False)
        save_checked(contact)
        audit(
            target=contact,
            actor=actor,
            action=AuditEvent.Action.CREATED,
            note=f"From lead {locked.number}",
        )
    deal = Deal(
        title=title.strip(),
        company=company,
        contact=contact,
        value=value,
        currency=(currency or Deal._meta.get_field("currency").get_default()).upper(),
        stage=stage,
        expected_close_date=expected_close_date,
        source_lead=locked,
        owner=owner,
        team_id=team_id,
        next_action=locked.next_action,
        next_action_due=locked.next_action_due,
        created_by=actor,
        stage_changed_at=at,
    )
    full_clean_given(deal, exclude=["source_lead"], validate_constraints=False)
    save_checked(deal)
    _record_stage(deal, actor=actor, from_stage=None, at=at)
    audit(
        target=deal,
        actor=actor,
        action=AuditEvent.Action.CREATED,
        note=f"Converted from lead {locked.number}",
    )
    # The lead becomes read-only; what still has to be done carries on on the deal.
    lead_converted.send(Deal, lead=locked, deal=deal, at=at)
    before = snapshot(locked, ["status"])
    fields = apply_status(locked, Lead.Status.CONVERTED, None, at)
    locked.converted_at = at
    save_with_history(
        locked,
        actor=actor,
        action=AuditEvent.Action.CONVERTED,
        before=before,
        fields=[*fields, "converted_at"],
        note=f"Deal: {deal.title}",
    )
    return deal


def _locked(deal: Deal, expected_version: int | None) -> Deal:
    locked = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("stage", "owner")
        .get(pk=deal.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise DealConflict(locked, since_version=expected_version)
    return locked


def _save(
    deal: Deal,
    *,
    actor: User,
    action: AuditEvent.Action,
    changes: dict[str, Any],
    fields: list[str],
    note: str = "",
) -> Deal:
    deal.version += 1
    deal.updated_at = now()
    touched = set(fields)
    untouched = [f.name for f in Deal._meta.concrete_fields if f.name not in touched]
    full_clean_given(deal, exclude=untouched, validate_constraints=False)
    save_checked(deal, update_fields=[*fields, "version", "updated_at"])
    audit(target=deal, actor=actor, action=action, changes=changes, note=note)
    return deal


@transaction.atomic
def deal_move_stage(
    *,
    deal: Deal,
    actor: User,
    stage: Stage,
    lost_reason: LostReason | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Move a deal to another stage. Won stamps the close; Lost needs a reason; reopening
    a won or lost deal is for managers. Each move is kept in the stage history."""
    deal = _locked(deal, expected_version)
    require_work(actor, deal)
    old = deal.stage
    if stage.pk == old.pk:
        raise ValidationError(ALREADY_IN_STAGE.format(stage=stage))
    if not stage.is_active:
        raise ValidationError(STAGE_INACTIVE.format(stage=stage))
    if old.is_closed and not can_reopen(actor):
        raise ValidationError(REOPEN_DEAL_NEEDS_MANAGER)
    if stage.kind == Stage.Kind.LOST and lost_reason is None:
        raise ValidationError(LOST_NEEDS_REASON)
    at = now()
    changes: dict[str, Any] = {"stage": (old.name, stage.name)}
    old_reason = str(deal.lost_reason or "")
    entered_old = deal.stage_changed_at
    deal.stage = stage
    deal.stage_changed_at = at
    deal.closed_at = at if stage.is_closed else None
    deal.lost_reason = lost_reason if stage.kind == Stage.Kind.LOST else None
    if old_reason != str(deal.lost_reason or ""):
        changes["lost reason"] = (old_reason, str(deal.lost_reason or ""))
    _record_stage(deal, actor=actor, from_stage=old, at=at, entered_at=entered_old)
    return _save(
        deal,
        actor=actor,
        action=AuditEvent.Action.STATUS,
        changes=changes,
        fields=["stage", "stage_changed_at", "closed_at", "lost_reason"],
    )


DEAL_EDITABLE_FIELDS = ["title", "value", "currency", "probability", "expected_close_date"]


@transaction.atomic
def deal_update(*, deal: Deal, actor: User, expected_version: int | None, **data: Any) -> Deal:
    """Edit the deal's terms. Refused if someone else saved it since ``expected_version``."""
    unknown = set(data) - set(DEAL_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"deal_update() got fields it does not set: {sorted(unknown)}")
    deal = _locked(deal, expected_version)
    require_work(actor, deal)
    changes = {
        str(getattr(Deal._meta.get_field(name), "verbose_name", name)): (getattr(deal, name), value)
        for name, value in data.items()
        if getattr(deal, name) != value
    }
    for name, value in data.items():
        setattr(deal, name, value)
    deal.currency = deal.currency.upper()
    return _save(
        deal, actor=actor, action=AuditEvent.Action.UPDATED, changes=changes, fields=list(data)
    )


@transaction.atomic
def deal_assign_owner(
    *, deal: Deal, actor: User, owner: User, expected_version: int | None = None
) -> Deal:
    if not can_assign(actor):
        raise ValidationError(ASSIGN_NOT_ALLOWED)
    check_assignee(actor, owner)
    deal = _locked(deal, expected_version)
    if deal.owner_id == owner.pk:
        return deal
    changes = {"owner": (str(deal.owner or ""), str(owner))}
    deal_owner_changed.send(Deal, deal=deal, old_owner_id=deal.owner_id, new_owner=owner)
    deal.owner = owner
    return _save(
        deal, actor=actor, action=AuditEvent.Action.ASSIGNED, changes=changes, fields=["owner"]
    )


@transaction.atomic
def deal_set_next_action(
    *,
    deal: Deal,
    actor: User,
    next_action: str,
    due: datetime | None,
    expected_version: int | None = None,
) -> Deal:
    """Set (or clear) what happens next."""
    next_action = next_action.strip()
    if next_action and due is None:
        raise ValidationError(NEXT_ACTION_NEEDS_DUE)
    if due is not None and not next_action:
        raise ValidationError(NEXT_ACTION_NEEDS_TEXT)
    deal = _locked(deal, expected_version)
    require_work(actor, deal)
    changes = {
        "next action": (deal.next_action, next_action),
        "next action due": (deal.next_action_due, due),
    }
    deal.next_action, deal.next_action_due = next_action, due
    return _save(
        deal,
        actor=actor,
        action=AuditEvent.Action.NEXT_ACTION,
        changes=changes,
        fields=["next_action", "next_action_due"],
    )


@transaction.atomic
def deal_add_note(*, deal: Deal, actor: User, kind: str, body: str) -> DealNote:
    deal = _locked(deal, None)
    require_work(actor, deal)
    note = DealNote(deal=deal, kind=kind, body=body.strip(), author=actor)
    full_clean_given(note, validate_constraints=False)
    save_checked(note)
    return note


@transaction.atomic
def contact_create(*, actor: User, owner: User | None = None, **data: Any) -> Contact:
    contact = Contact(**data, owner=owner or actor, created_by=actor)
    contact.email = contact.email.strip().lower()
    contact.phone_normalized = normalize_phone(contact.phone)
    full_clean_given(contact, validate_constraints=False)
    save_checked(contact)
    audit(target=contact, actor=actor, action=AuditEvent.Action.CREATED)
    return contact


@transaction.atomic
def company_create(*, actor: User, owner: User | None = None, **data: Any) -> Company:
    company = Company(**data, owner=owner or actor, created_by=actor)
    company.domain = domain_of(company.domain or company.website)
    full_clean_given(company, validate_constraints=False)
    save_checked(company)
    audit(target=company, actor=actor, action=AuditEvent.Action.CREATED)
    return company


@transaction.atomic
def stage_save(*, stage: Stage, actor: User) -> Stage:
    """Create or change a pipeline stage at the position the admin gave it. The positions
    alone order the pipeline (board, lists, selects): a position another stage already
    holds moves that stage, and the ones right behind it, one place down, so a new stage
    at 0 comes first instead of sharing 0 with "Meeting set" and landing after it."""
    stage.full_clean()
    creating = stage.pk is None
    was = Stage.objects.filter(pk=stage.pk).values_list("position", flat=True).first()
    behind = (
        Stage.objects.select_for_update()
        .filter(position__gte=stage.position)
        .exclude(pk=stage.pk)
        .order_by("position", "id")
    )
    moved: list[Stage] = []
    place = stage.position
    for other in behind:
        if other.position > place:
            break  # a gap: everything further down keeps its number
        place += 1
        other.position = place
        moved.append(other)
    Stage.objects.bulk_update(moved, ["position"])
    stage.save()
    action = AuditEvent.Action.CREATED if creating else AuditEvent.Action.UPDATED
    changes = {"position": (was, stage.position)} if was != stage.position else None
    audit(target=stage, actor=actor, action=action, changes=changes)
    for other in moved:
        audit(
            target=other,
            actor=actor,
            action=AuditEvent.Action.UPDATED,
            changes={"position": (other.position - 1, other.position)},
            note=f"Made room for {stage.name}",
        )
    return stage
