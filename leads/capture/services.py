"""``capture_inquiry``: one entry point for every channel that brings leads in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils.timezone import now

from accounts.models import Team, User
from crm.models import AuditEvent, Notification, audit, loaded
from crm.notifications import notify
from leads.assignment.services import Routing
from leads.models import Lead, LeadNote, Tag
from leads.phones import normalize_phone
from leads.scoring.services import rescore
from leads.services import lead_create_here
from leads.signals import inquiry_received
from leads.sla.services import Recipients

WEB_FORM = "web_form"
EMAIL = "email"
CHANNELS = {WEB_FORM: LeadNote.Kind.WEB_FORM, EMAIL: LeadNote.Kind.EMAIL_IN}

CREATED = "created"
ATTACHED = "attached"

NO_MESSAGE = "(no message)"


@dataclass(frozen=True)
class Inquiry:
    """What arrived, as the channel read it."""

    channel: str  # WEB_FORM or EMAIL
    label: str  # where it came in, for people: "Web form “Contact us”", "Mailbox “sales”"
    fields: dict[str, Any]  # the new lead's fields, as ``lead_create`` takes them
    message: str = ""  # the person's words: the new lead's first note, or the activity
    team: Team | None = None  # whose pool a new lead nobody is routed to falls into
    tags: Sequence[Tag] = ()
    web_form_id: int | None = None  # for the assignment rules' conditions
    mailbox_id: int | None = None
    message_id: str = ""  # email: its Message-ID, kept on the note it becomes
    thread: Sequence[str] = ()  # email: the Message-IDs of In-Reply-To and References
    at: datetime | None = None

    @property
    def note_kind(self) -> str:
        return CHANNELS[self.channel]

    @property
    def email(self) -> str:
        return str(self.fields.get("email") or "").strip().lower()

    @property
    def phone_normalized(self) -> str:
        phone = str(self.fields.get("phone") or "")
        return normalize_phone(phone, str(self.fields.get("country") or "")) if phone else ""

    @property
    def body(self) -> str:
        text = self.message.strip() or NO_MESSAGE
        return f"{text}\n\n— via {self.label}"


@dataclass
class Captured:
    """What became of an inquiry: a new lead, or an activity on a lead or deal."""

    status: str  # CREATED or ATTACHED
    lead: Lead | None = None
    deal_id: int | None = None
    note_id: int | None = None
    told: list[int] = field(default_factory=list)  # who was notified (user ids)


def find_thread_lead(message_ids: Sequence[str]) -> Lead | None:
    """The lead an email replies to: one of its notes carries a Message-ID in the thread."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    note = (
        LeadNote.objects.filter(message_id__in=ids)
        .select_related("lead")
        .order_by("-created_at", "-pk")
        .first()
    )
    return note.lead if note else None


# The open lead a person already is, as ``Lead.objects.open().same_contact(...)`` finds it,
# with what attaching to it reads. Every submission asks, so it is written out: the ORM
# took longer to compile it than the database to answer (a lead row has fifty columns).
# tests/leads/test_capture.py holds it to ``same_contact``.
KNOWN_LEAD_SQL = """
SELECT l.id, l.number, l.version, l.marketing_consent, l.first_name, l.last_name,
       l.status, l.team_id, l.owner_id, u.is_active, u.email, u.first_name, u.last_name
  FROM leads_lead l LEFT JOIN accounts_user u ON u.id = l.owner_id
 WHERE l.status = ANY(%(open)s) AND l.merged_into_id IS NULL AND ({match})
 ORDER BY {first} l.created_at DESC, l.id DESC
 LIMIT 1
"""
KNOWN_LEAD_FIELDS = [
    "id",
    "number",
    "version",
    "marketing_consent",
    "first_name",
    "last_name",
    "status",
    "team_id",
    "owner_id",
]
OWNER_FIELDS = ["id", "is_active", "email", "first_name", "last_name"]


def find_known_lead(email: str, phone_normalized: str) -> Lead | None:
    """The open lead this person already is: same email, else same normalised phone (the
    most recently created if several). One query."""
    email = email.strip().lower()
    match = []
    if email:
        match.append("l.email = %(email)s")
    if phone_normalized:
        match.append("l.phone_normalized = %(phone)s")
    if not match:
        return None
    sql = KNOWN_LEAD_SQL.format(
        match=" OR ".join(match), first="l.email = %(email)s DESC," if email else ""
    )
    params: dict[str, Any] = {
        "open": list(Lead.OPEN_STATUSES),
        "email": email,
        "phone": phone_normalized,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    lead = loaded(Lead, dict(zip(KNOWN_LEAD_FIELDS, row[:9], strict=True)))
    if lead.owner_id is not None:
        lead.owner = owner_from(lead.owner_id, row[9:])
    return lead


def owner_from(pk: int, values: Sequence[Any]) -> User:
    """The owner a hand-written query read: ``OWNER_FIELDS`` after the id."""
    return loaded(User, dict(zip(OWNER_FIELDS, [pk, *values], strict=True)))


def _tell(
    users: Sequence[Any], *, kind: str, key: str, title: str, url: str, target: Any
) -> list[int]:
    told = []
    for user in users:
        if user is not None and user.is_active:
            notify(user=user, kind=kind, key=key, title=title, url=url, target=target)
            told.append(user.pk)
    return told


def owner_or_managers(lead: Lead) -> list[Any]:
    """Who hears about a lead: its owner, else its team's managers (every manager, if it
    has no team)."""
    if lead.owner_id is not None:
        return [lead.owner]
    return Recipients().managers(lead.team_id)


def attach_to_lead(lead: Lead, inquiry: Inquiry) -> Captured:
    """The person wrote again: the message on the lead's timeline, their owner told. It is
    what they sent us, not our contact with them: the lead's status and response time
    are left alone."""
    at = inquiry.at or now()
    note = LeadNote.objects.create(
        lead=lead,
        kind=inquiry.note_kind,
        body=inquiry.body,
        author=None,
        created_at=at,
        message_id=inquiry.message_id[:255],
    )
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=at)
    if inquiry.fields.get("marketing_consent") and not lead.marketing_consent:
        _record_consent(lead, inquiry, at)
    # Their coming back counts towards the engagement rules.
    rescore([lead.pk])
    told = _tell(
        owner_or_managers(lead),
        kind=Notification.Kind.INQUIRY,
        key=f"inquiry:lead-note:{note.pk}",
        title=f"{lead.full_name or lead.number} wrote again ({inquiry.label})",
        url=lead.get_absolute_url(),
        target=lead,
    )
    return Captured(status=ATTACHED, lead=lead, note_id=note.pk, told=told)


CONSENT_FIELDS = ["marketing_consent", "consent_at", "consent_source", "consent_text"]


def _record_consent(lead: Lead, inquiry: Inquiry, at: datetime) -> None:
    """A known person who had not agreed to marketing ticked the box this time: their lead
    keeps it, with when, where and the wording, as a new lead would, in its history."""
    given = {name: inquiry.fields.get(name) for name in CONSENT_FIELDS}
    given["consent_at"] = given["consent_at"] or at
    Lead.objects.filter(pk=lead.pk).update(**given, version=F("version") + 1)
    lead.marketing_consent = True
    lead.version += 1
    audit(
        target=lead,
        actor=None,
        action=AuditEvent.Action.UPDATED,
        changes={"Marketing consent": (False, True)},
        note=f"Consent given via {inquiry.label}",
    )


def _answered_elsewhere(inquiry: Inquiry, step: str) -> Captured | None:
    """A receiver above leads (deals) may take the inquiry: ``step`` is "thread" (a reply
    to an email logged there) or "person" (a known contact with an open deal)."""
    for _receiver, answer in inquiry_received.send(sender=Inquiry, inquiry=inquiry, step=step):
        if isinstance(answer, Captured):
            return answer
    return None


@transaction.atomic(savepoint=False)
def capture_inquiry(inquiry: Inquiry) -> Captured:
    """Attach the inquiry where it belongs, or create the lead it is. All in one
    transaction: the lead or note, the assignment, the history and the notifications
    commit together (and the emails they cause are sent after the commit). Inside a
    caller's transaction it takes no savepoint: any error ends that transaction too."""
    if inquiry.thread:
        lead = find_thread_lead(inquiry.thread)
        if lead is not None:
            return attach_to_lead(lead, inquiry)
        answer = _answered_elsewhere(inquiry, "thread")
        if answer is not None:
            return answer
    known = find_known_lead(inquiry.email, inquiry.phone_normalized)
    if known is not None:
        return attach_to_lead(known, inquiry)
    answer = _answered_elsewhere(inquiry, "person")
    if answer is not None:
        return answer
    lead = lead_create_here(
        actor=None,
        team=inquiry.team,
        tags=list(inquiry.tags),
        routing=Routing(web_form_id=inquiry.web_form_id, mailbox_id=inquiry.mailbox_id),
        **inquiry.fields,
    )
    note = LeadNote.objects.create(
        lead=lead,
        kind=inquiry.note_kind,
        body=inquiry.body,
        author=None,
        created_at=inquiry.at or now(),
        message_id=inquiry.message_id[:255],
    )
    return Captured(status=CREATED, lead=lead, note_id=note.pk)
