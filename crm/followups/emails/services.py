"""Follow-up emails sent from a lead or a deal, and the templates they start from.

Templates are written by users, so their placeholders are filled by a regular expression
over a fixed list of names, never by Django's template engine: a template cannot reach
an attribute, call a method or load a tag library. What it cannot name stays visible.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.timezone import now

from accounts.models import Membership, User
from crm import placeholders
from crm.followups.models import EmailTemplate
from crm.models import AuditEvent, audit, full_clean_given, save_checked
from leads.models import Lead, LeadNote
from leads.services import CONVERTED_IS_READ_ONLY, lead_add_note, require_work

if TYPE_CHECKING:
    from deals.models import Deal, DealNote

# Messages users see, kept here so the tests can assert the exact text.
EMAIL_SEND_FAILED = "The email could not be sent: {reason}. Nothing was logged; try again."
EMAIL_NEEDS_RECIPIENT = "Enter the recipient's email address."
EMAIL_BAD_RECIPIENT = "“{to}” is not a valid email address."
EMAIL_NEEDS_SUBJECT = "Give the email a subject."
EMAIL_NEEDS_BODY = "Write the message before sending it."
EMAIL_SENT = "Email sent to {to} and logged on the timeline."
UNKNOWN_PLACEHOLDER = "Unknown placeholder {placeholder}"
TEMPLATE_NOT_AVAILABLE = "That template is not available to you."
TEMPLATE_NOT_YOURS = "Only the person who wrote a template can change it."

SUBJECT_MAX_LENGTH = 200

PLACEHOLDER = placeholders.PLACEHOLDER

# Every name a template may use, with what it means (the template pages list them).
PLACEHOLDERS: dict[str, str] = {
    "lead.first_name": "The lead's first name",
    "lead.last_name": "The lead's last name",
    "lead.full_name": "The lead's full name",
    "lead.company": "The lead's company",
    "lead.email": "The lead's email address",
    "lead.phone": "The lead's phone number",
    "lead.job_title": "The lead's job title",
    "lead.number": "The lead number (L-000123)",
    "deal.title": "The deal's title",
    "deal.value": "The deal's value",
    "deal.currency": "The deal's currency",
    "contact.first_name": "The contact's first name",
    "contact.last_name": "The contact's last name",
    "contact.full_name": "The contact's full name",
    "contact.email": "The contact's email address",
    "company.name": "The company's name",
    "sender.first_name": "Your first name",
    "sender.last_name": "Your last name",
    "sender.full_name": "Your full name",
    "sender.email": "Your email address",
}


@dataclass
class Rendered:
    subject: str
    body: str
    unknown: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [UNKNOWN_PLACEHOLDER.format(placeholder=name) for name in self.unknown]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _person(prefix: str, first: str, last: str, **more: Any) -> dict[str, str]:
    values = {
        f"{prefix}.first_name": first,
        f"{prefix}.last_name": last,
        f"{prefix}.full_name": f"{first} {last}".strip(),
    }
    values.update({f"{prefix}.{name}": _text(value) for name, value in more.items()})
    return values


def placeholder_values(
    *, sender: User, lead: Lead | None = None, deal: Deal | None = None
) -> dict[str, str]:
    """What each placeholder stands for on this record; a value the record lacks is an
    empty string. The person written to fills both ``lead.`` and ``contact.`` (on a deal:
    its contact, else its source lead), so one template reads right on either page."""
    values = dict.fromkeys(PLACEHOLDERS, "")
    values.update(_person("sender", sender.first_name, sender.last_name, email=sender.email))
    person: Any = lead
    company = lead.company if lead is not None else ""
    if deal is not None:
        lead = deal.source_lead
        person = deal.contact or lead
        company = deal.company.name if deal.company else (lead.company if lead else "")
        values["deal.title"] = deal.title
        values["deal.value"] = _text(deal.value)
        values["deal.currency"] = deal.currency
    values["company.name"] = company
    if person is not None:
        first, last = person.first_name, person.last_name
        values.update(_person("contact", first, last, email=person.email))
        values.update(
            _person(
                "lead",
                first,
                last,
                company=company,
                email=person.email,
                phone=person.phone,
                job_title=person.job_title,
            )
        )
    if lead is not None:
        values["lead.number"] = lead.number
    return values


def unknown_placeholders(*texts: str) -> list[str]:
    """The placeholders in ``texts`` that are not on the list, as written, in order."""
    return placeholders.unknown_placeholders(*texts, known=PLACEHOLDERS)


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace the known placeholders; unknown ones stay as written, for the user to see."""
    known = {name: value for name, value in values.items() if name in PLACEHOLDERS}
    return placeholders.render_placeholders(text, known)


def render_template(template: EmailTemplate, values: dict[str, str]) -> Rendered:
    subject = render_placeholders(template.subject, values)
    return Rendered(
        subject=" ".join(subject.split()),
        body=render_placeholders(template.body, values),
        unknown=unknown_placeholders(template.subject, template.body),
    )


# --- Which templates a user may use ---------------------------------------------------------


def templates_for(user: User) -> Any:
    """Active templates this user may start from: everyone's, their teams', their own."""
    teams = Membership.objects.filter(user_id=user.pk).values("team_id")
    return (
        EmailTemplate.objects.filter(is_active=True)
        .filter(
            Q(team__isnull=True, owner__isnull=True) | Q(team_id__in=teams) | Q(owner_id=user.pk)
        )
        .select_related("team")
        .order_by("name", "id")
    )


def template_groups(templates: Iterable[EmailTemplate]) -> list[tuple[str, list[EmailTemplate]]]:
    """The select's option groups: mine, then each team's, then everyone's."""
    mine: list[EmailTemplate] = []
    teams: dict[str, list[EmailTemplate]] = {}
    shared: list[EmailTemplate] = []
    for template in templates:
        if template.owner_id is not None:
            mine.append(template)
        elif template.team is not None:
            teams.setdefault(template.team.name, []).append(template)
        else:
            shared.append(template)
    groups = [("My templates", mine)]
    groups += [(f"{name} team", items) for name, items in sorted(teams.items())]
    groups.append(("Everyone's", shared))
    return [(label, items) for label, items in groups if items]


# --- Sending ----------------------------------------------------------------------------------


@dataclass
class Outgoing:
    to: str
    subject: str
    body: str


def _lines(text: str) -> str:
    """Browsers send a textarea's line breaks as CRLF; store and send plain newlines."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _checked(to: str, subject: str, body: str) -> Outgoing:
    to = to.strip()
    # A subject is one header line: a pasted line break must not end the header.
    subject = " ".join(subject.split())
    body = _lines(body).strip()
    if not to:
        raise ValidationError(EMAIL_NEEDS_RECIPIENT)
    try:
        validate_email(to)
    except ValidationError:
        raise ValidationError(EMAIL_BAD_RECIPIENT.format(to=to)) from None
    if not subject:
        raise ValidationError(EMAIL_NEEDS_SUBJECT)
    if not body:
        raise ValidationError(EMAIL_NEEDS_BODY)
    return Outgoing(to=to, subject=subject[:SUBJECT_MAX_LENGTH], body=body)


def _send(outgoing: Outgoing, actor: User) -> str:
    """Hand the message to the mail server now, so the user learns at once if it failed.
    Returns its Message-ID, which the logged note keeps so that replies find their record."""
    message_id = make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "crm.localhost")
    message = EmailMessage(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.to],
        reply_to=[actor.email],
        headers={"Message-ID": message_id},
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        reason = str(error).strip() or error.__class__.__name__
        raise ValidationError(EMAIL_SEND_FAILED.format(reason=reason)) from error
    return message_id


def _logged_body(outgoing: Outgoing) -> str:
    return f"To: {outgoing.to}\nSubject: {outgoing.subject}\n\n{outgoing.body}"


@transaction.atomic
def lead_send_email(*, lead: Lead, actor: User, to: str, subject: str, body: str) -> LeadNote:
    """Email the lead and log it on its timeline (which counts as the first contact).

    The lead's row stays locked while the mail server answers: the checks that allowed
    the email still hold when it is logged, so a sent email is never left unrecorded."""
    outgoing = _checked(to, subject, body)
    locked = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    require_work(actor, locked)
    if locked.status == Lead.Status.CONVERTED:
        raise ValidationError(CONVERTED_IS_READ_ONLY)
    message_id = _send(outgoing, actor)
    note = lead_add_note(
        lead=locked,
        actor=actor,
        kind=LeadNote.Kind.EMAIL,
        body=_logged_body(outgoing),
        outcome=f"Sent to {outgoing.to}"[:200],
    )
    note.message_id = message_id
    note.save(update_fields=["message_id"])
    locked.refresh_from_db(fields=["version"])
    audit(
        target=locked,
        actor=actor,
        action=AuditEvent.Action.EMAILED,
        note=f"To {outgoing.to}: {outgoing.subject}",
    )
    return note


@transaction.atomic
def deal_send_email(*, deal: Deal, actor: User, to: str, subject: str, body: str) -> DealNote:
    """Email the deal's contact and log it on the deal's timeline."""
    from deals.models import Deal
    from deals.services import deal_add_note

    outgoing = _checked(to, subject, body)
    locked = Deal.objects.select_for_update(of=("self",)).select_related("owner").get(pk=deal.pk)
    require_work(actor, locked)
    message_id = _send(outgoing, actor)
    note = deal_add_note(deal=locked, actor=actor, kind="email", body=_logged_body(outgoing))
    note.message_id = message_id
    note.save(update_fields=["message_id"])
    audit(
        target=locked,
        actor=actor,
        action=AuditEvent.Action.EMAILED,
        note=f"To {outgoing.to}: {outgoing.subject}",
    )
    return note


def default_recipient(*, lead: Lead | None = None, deal: Deal | None = None) -> str:
    if lead is not None:
        return lead.email
    if deal is not None:
        if deal.contact is not None and deal.contact.email:
            return deal.contact.email
        if deal.source_lead is not None:
            return deal.source_lead.email
    return ""


# --- A user's own templates -------------------------------------------------------------------

TEMPLATE_FIELDS = ["name", "subject", "body"]


def _require_owner(template: EmailTemplate, actor: User) -> None:
    if template.owner_id != actor.pk:
        raise ValidationError(TEMPLATE_NOT_YOURS)


def check_template_text(*, subject: str, body: str) -> None:
    """A template that names an unknown placeholder is refused: say which."""
    unknown = unknown_placeholders(subject, body)
    if unknown:
        raise ValidationError([UNKNOWN_PLACEHOLDER.format(placeholder=name) for name in unknown])


@transaction.atomic
def email_template_create(*, actor: User, name: str, subject: str, body: str) -> EmailTemplate:
    """A personal template: only its author sees and uses it."""
    check_template_text(subject=subject, body=body)
    template = EmailTemplate(
        name=name.strip(), subject=" ".join(subject.split()), body=_lines(body).strip(), owner=actor
    )
    full_clean_given(template, validate_constraints=False)
    save_checked(template)
    audit(target=template, actor=actor, action=AuditEvent.Action.CREATED)
    return template


@transaction.atomic
def email_template_update(
    *, template: EmailTemplate, actor: User, name: str, subject: str, body: str
) -> EmailTemplate:
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    _require_owner(template, actor)
    check_template_text(subject=subject, body=body)
    before = {name_: getattr(template, name_) for name_ in TEMPLATE_FIELDS}
    template.name = name.strip()
    template.subject = " ".join(subject.split())
    template.body = _lines(body).strip()
    template.updated_at = now()
    full_clean_given(template, validate_constraints=False)
    save_checked(template, update_fields=[*TEMPLATE_FIELDS, "updated_at"])
    changes = {
        name_: (before[name_], getattr(template, name_))
        for name_ in TEMPLATE_FIELDS
        if before[name_] != getattr(template, name_)
    }
    audit(target=template, actor=actor, action=AuditEvent.Action.UPDATED, changes=changes)
    return template


@transaction.atomic
def email_template_delete(*, template: EmailTemplate, actor: User) -> None:
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    _require_owner(template, actor)
    # Sent emails are logged as notes with their full text, so nothing refers back here.
    template.delete()
