"""Receiving a message: store it as it came, then make it a lead or an activity."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.timezone import now

from accounts.models import Team, User
from crm.models import Notification
from leads.capture.services import (
    EMAIL,
    Captured,
    Inquiry,
    attach_to_lead,
    capture_inquiry,
    find_thread_lead,
)
from leads.inbound.models import EMAIL_SOURCE, InboundEmail, Mailbox, hash_token
from leads.inbound.parsing import Malformed, Parsed, clean, parse, read_message_id
from leads.models import Lead, Source

logger = logging.getLogger(__name__)

Status = InboundEmail.Status

# The largest message kept (the raw bytes). Above it, the first MAX_MESSAGE_BYTES are
# stored and the message is rejected. Attachments are not stored apart from the message:
# they stay inside its raw copy, and are listed by name, type and size.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_NOTE_CHARS = 20_000

TOO_LARGE = "The message is too large ({size} bytes; at most {limit} are accepted)."
DUPLICATE = "Already received as inbound email #{pk}."
NO_EMAIL_FIELD = "The form has no “email” field with the raw message in it."
FAILED = "Processing failed: {error}. The message is kept; re-process it from the admin."
ATTACHED_NOTE = "Attached: {names} (kept in inbound email #{pk})."
NOTE_CUT = "\n\n[…cut: the whole message is inbound email #{pk}]"
OUR_OWN = "Sent by this CRM ({address}): a mail loop, not a person writing."
# A rep who copies the inbox on their own mail is not a lead writing in.
FROM_A_USER = "Sent by a user of the CRM ({address}), not by a lead or a contact."
REPROCESSABLE = {Status.RECEIVED, Status.FAILED}


@dataclass(frozen=True)
class Outcome:
    """What the sender of the message is told (the endpoint's and command's JSON)."""

    status: str
    inbound: int | None
    lead: int | None = None
    deal: int | None = None
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "inbound": self.inbound,
            "lead": self.lead,
            "deal": self.deal,
            "reason": self.reason,
        }


def outcome_of(inbound: InboundEmail) -> Outcome:
    return Outcome(
        status=inbound.status,
        inbound=inbound.pk,
        lead=inbound.lead_id,
        deal=inbound.deal_id,
        reason=inbound.reason,
    )


# --- Mailboxes --------------------------------------------------------------------------------


def mailbox_for_token(token: str) -> Mailbox | None:
    return Mailbox.objects.filter(token_hash=hash_token(token), is_active=True).first()


@transaction.atomic
def mailbox_create(
    *, name: str, team: Team | None = None, source: Source | None = None
) -> tuple[Mailbox, str]:
    """A new mailbox and its token (shown once: only its hash is kept)."""
    mailbox = Mailbox(name=name.strip(), team=team)
    if source is not None:
        mailbox.source = source
    token = mailbox.new_token()
    mailbox.full_clean()
    mailbox.save()
    return mailbox, token


@transaction.atomic
def mailbox_rotate_token(*, mailbox: Mailbox) -> str:
    """A new token for the mailbox; the old one stops working."""
    token = mailbox.new_token()
    mailbox.save(update_fields=["token_hash"])
    return token


def endpoint_url(token: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/inbound/email/{token}/"


# --- Receiving --------------------------------------------------------------------------------


def inbound_email_receive(
    *,
    mailbox: Mailbox,
    raw: bytes,
    size: int | None = None,
    refuse: str = "",
    received_at: datetime | None = None,
) -> Outcome:
    """Store the message (its own transaction: whatever happens next, it is kept), then
    process it. ``size`` is what was received when ``raw`` was cut to the cap; ``refuse``
    rejects it with that reason without reading it; ``received_at`` is now unless given
    (the demo's messages arrived earlier)."""
    size = len(raw) if size is None else size
    if size > MAX_MESSAGE_BYTES and not refuse:
        refuse = TOO_LARGE.format(size=size, limit=MAX_MESSAGE_BYTES)
    raw = raw[:MAX_MESSAGE_BYTES]
    message_id = "" if refuse else read_message_id(raw)
    if message_id:
        first = _first_copy(mailbox, message_id)
        if first is not None:
            return _duplicate(first)
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                mailbox=mailbox,
                received_at=received_at or now(),
                raw=raw,
                size=size,
                message_id=message_id,
                status=Status.REJECTED if refuse else Status.RECEIVED,
                reason=refuse,
                processed_at=now() if refuse else None,
            )
    except IntegrityError:
        first = _first_copy(mailbox, message_id)  # the same message, posted twice at once
        if first is None:
            raise
        return _duplicate(first)
    if refuse:
        return outcome_of(inbound)
    return outcome_of(inbound_email_process(inbound=inbound))


def _first_copy(mailbox: Mailbox, message_id: str) -> InboundEmail | None:
    return (
        InboundEmail.objects.filter(mailbox=mailbox, message_id=message_id)
        .only("pk", "lead_id", "deal_id")
        .first()
    )


def _duplicate(first: InboundEmail) -> Outcome:
    return Outcome(
        status=Status.DUPLICATE,
        inbound=first.pk,
        lead=first.lead_id,
        deal=first.deal_id,
        reason=DUPLICATE.format(pk=first.pk),
    )


PARSED_FIELDS = [
    "sender_name",
    "sender_email",
    "subject",
    "text",
    "preview",
    "attachments",
]
RESULT_FIELDS = ["status", "reason", "lead", "deal_id", "processed_at", "attempts"]


def inbound_email_process(*, inbound: InboundEmail) -> InboundEmail:
    """Read a stored message and capture it. Any error is the message's "failed" status
    with the reason (the capture's writes are rolled back; the message stays)."""
    inbound.attempts += 1
    inbound.lead, inbound.deal_id, inbound.reason = None, None, ""
    try:
        with transaction.atomic():
            _process(inbound)
    except Exception as error:
        logger.exception("inbound email #%s failed", inbound.pk)
        inbound.status = Status.FAILED
        inbound.reason = clean(FAILED.format(error=f"{type(error).__name__}: {error}"))
        inbound.lead, inbound.deal_id = None, None
    inbound.processed_at = now()
    inbound.save(update_fields=[*PARSED_FIELDS, *RESULT_FIELDS])
    return inbound


def _process(inbound: InboundEmail) -> None:
    try:
        parsed = parse(bytes(inbound.raw))
    except Malformed as error:
        inbound.status, inbound.reason = Status.REJECTED, str(error)
        return
    for name in PARSED_FIELDS:
        setattr(inbound, name, getattr(parsed, name))
    if not parsed.ignored and parsed.sender_email == our_address():
        parsed.ignored = OUR_OWN.format(address=parsed.sender_email)
    if not parsed.ignored and User.objects.filter(email__iexact=parsed.sender_email).exists():
        parsed.ignored = FROM_A_USER.format(address=parsed.sender_email)
    if parsed.ignored:
        inbound.status, inbound.reason = Status.IGNORED, parsed.ignored
        return
    mailbox = inbound.mailbox
    inquiry = Inquiry(
        channel=EMAIL,
        label=f"Mailbox “{mailbox.name}”" if mailbox else "Email",
        fields=lead_fields(parsed, mailbox),
        message=note_text(parsed, inbound.pk),
        team=mailbox.team if mailbox else None,
        mailbox_id=mailbox.pk if mailbox else None,
        message_id=parsed.message_id,
        thread=parsed.thread,
        at=inbound.received_at,
    )
    captured = _capture(inquiry)
    inbound.status = captured.status
    inbound.lead = captured.lead
    inbound.deal_id = captured.deal_id


def our_address() -> str:
    """The address the CRM sends from: mail from it coming back in is a loop."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].strip().lower()


def _capture(inquiry: Inquiry) -> Captured:
    """A reply to an email the CRM's outbox sent (a notification) goes on the lead that
    notification was about; anything else is ``capture_inquiry``'s to place."""
    if inquiry.thread and find_thread_lead(inquiry.thread) is None:
        lead = notification_thread_lead(inquiry.thread)
        if lead is not None:
            return attach_to_lead(lead, inquiry)
    return capture_inquiry(inquiry)


def notification_thread_target(
    message_ids: Sequence[str], app_label: str, model: str
) -> int | None:
    """The id of the record (a lead, a deal) that a notification in the thread was about:
    its email's Message-ID is ``crm.notifications.message_id``, on this site's host."""
    domain = re.escape(urlsplit(settings.SITE_URL).hostname or "crm.localhost")
    pattern = re.compile(rf"^<notification-(\d{{1,18}})@{domain}>$", re.IGNORECASE)
    pks = [int(found.group(1)) for m in message_ids if (found := pattern.match(m))]
    if not pks:
        return None
    return (
        Notification.objects.filter(
            pk__in=pks,
            target_id__isnull=False,
            target_type__app_label=app_label,
            target_type__model=model,
        )
        .order_by("-pk")
        .values_list("target_id", flat=True)
        .first()
    )


def notification_thread_lead(message_ids: Sequence[str]) -> Lead | None:
    lead_id = notification_thread_target(message_ids, "leads", "lead")
    lead = Lead.objects.filter(pk=lead_id).first() if lead_id is not None else None
    # A reply about a lead merged away since belongs to the lead it was merged into.
    return Lead.objects.survivor_of(lead) if lead is not None else None


# --- The lead it would be ---------------------------------------------------------------------

SEPARATORS = re.compile(r"[._\-+]+")


def split_name(display_name: str, address: str) -> tuple[str, str]:
    """First and last name from "Ann Lee", "Lee, Ann", or else the address ("ann.lee")."""
    name = " ".join(display_name.replace('"', " ").split())
    if "@" in name:
        name = ""  # a display name that is only the address again
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip()[:100], last.strip()[:100]
    if not name:
        local = address.partition("@")[0]
        words = [w for w in SEPARATORS.split(local) if w and not w.isdigit()]
        name = " ".join(word.capitalize() for word in words) or local
    first, _, last = name.partition(" ")
    return first[:100], last.strip()[:100]


def email_source() -> Source:
    return Source.objects.get_or_create(name=EMAIL_SOURCE)[0]


def lead_fields(parsed: Parsed, mailbox: Mailbox | None) -> dict[str, Any]:
    first, last = split_name(parsed.sender_name, parsed.sender_email)
    source = mailbox.source if mailbox and mailbox.source_id else email_source()
    return {
        "first_name": first,
        "last_name": last,
        "email": parsed.sender_email,
        "source": source,
    }


def note_text(parsed: Parsed, pk: int) -> str:
    """The subject and the new words (quoted replies and signature left out; the full
    text is on the inbound email)."""
    text = parsed.preview or parsed.text
    if len(text) > MAX_NOTE_CHARS:
        text = text[:MAX_NOTE_CHARS] + NOTE_CUT.format(pk=pk)
    subject = f"Subject: {parsed.subject}" if parsed.subject else ""
    names = [a["name"] or a["type"] for a in parsed.attachments]
    attached = ATTACHED_NOTE.format(names=", ".join(names), pk=pk) if names else ""
    return "\n\n".join(part for part in (subject, text, attached) if part)


# --- Again ------------------------------------------------------------------------------------


def inbound_email_reprocess(*, pk: int) -> InboundEmail | None:
    """Process a failed (or never processed) message again; None if it is not one."""
    with transaction.atomic():
        locked = (
            InboundEmail.objects.select_for_update(of=("self",))
            .select_related("mailbox", "mailbox__team")
            .filter(pk=pk, status__in=REPROCESSABLE)
            .first()
        )
        if locked is None:
            return None
        return inbound_email_process(inbound=locked)
