"""The demo mailbox for ``seed_demo``: "Sales inbox", in the demo team, made once, with
a few messages through the real path: a stranger who becomes a lead, a demo lead
writing again, a contact asking about their open deal, and an out-of-office reply that is
ignored."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils.timezone import now

from accounts.models import User
from crm.models import AuditEvent
from leads.inbound.models import InboundEmail, Mailbox
from leads.inbound.services import (
    email_source,
    endpoint_url,
    inbound_email_receive,
    mailbox_create,
)
from leads.models import Lead

DEMO_MAILBOX = "Sales inbox"
DEMO_DOMAIN = "sales-inbox.example"  # the demo's addresses all end in .example


def _message(
    n: int, sender: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"sales@{DEMO_DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = f"<demo-{n}@{DEMO_DOMAIN}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def _messages(deal_contact: str) -> list[tuple[bytes, timedelta]]:
    """Each message, and how long ago it arrived."""
    stranger = _message(
        1,
        "Greta Lindqvist <greta.lindqvist@nordicfreight.example>",
        "Fleet tracking for 40 trucks",
        "Hello,\n\nwe run 40 trucks between Gothenburg and Hamburg and are looking for a "
        "tracking and dispatch tool. Could someone walk us through pricing next week?\n\n"
        "Best regards,\nGreta Lindqvist\nNordic Freight AB\n",
    )
    messages = [(stranger, timedelta(hours=3))]
    known = (
        Lead.objects.filter(status__in=Lead.OPEN_STATUSES, email__endswith=".example")
        .exclude(email="")
        .order_by("pk")
        .first()
    )
    if known is not None:
        name = f"{known.first_name} {known.last_name}".strip()
        messages.append(
            (
                _message(
                    2,
                    f"{name} <{known.email}>",
                    "Re: Following up",
                    "Thanks for getting back to me. Could you send the pricing sheet before "
                    f"our call?\n\n{known.first_name}\n",
                ),
                timedelta(hours=2),
            )
        )
        messages.append(
            (
                _message(
                    3,
                    f"{name} <{known.email}>",
                    "Out of office",
                    "I am out of the office until Monday and will reply when I am back.\n",
                    headers={"Auto-Submitted": "auto-replied"},
                ),
                timedelta(hours=1, minutes=55),
            )
        )
    if deal_contact:
        buyer = _message(
            4,
            deal_contact,
            "Contract question",
            "Hi, our legal team asked whether the contract can start on the first of next "
            "month. Could you check?\n",
        )
        messages.append((buyer, timedelta(hours=1, minutes=30)))
    return messages


@transaction.atomic
def _backdate(mailbox: Mailbox) -> int:
    """DEMO DATA ONLY: the notes already carry each message's arrival time; the leads the
    messages created, and their history, are moved back to it too (the services stamp
    ``now()``), as ``leads.demo`` does for the other demo leads."""
    lead_type = ContentType.objects.get_for_model(Lead)
    created = InboundEmail.objects.filter(mailbox=mailbox, status=InboundEmail.Status.CREATED)
    for inbound in created.select_related("lead"):
        lead = inbound.lead
        if lead is None:
            continue
        shift = inbound.received_at - lead.created_at
        Lead.objects.filter(pk=lead.pk).update(
            created_at=F("created_at") + shift,
            updated_at=F("updated_at") + shift,
            last_activity_at=inbound.received_at,
            sla_due_at=F("sla_due_at") + shift,
        )
        AuditEvent.objects.filter(target_type=lead_type, target_id=lead.pk).update(
            occurred_at=F("occurred_at") + shift
        )
    return created.count()


def seed_mailbox(*, manager: User, deal_contact: str = "") -> tuple[str, int]:
    """Make the demo mailbox unless it is there. Returns a line for the command to print
    (the endpoint with its token, which only a new mailbox can show) and how many leads
    its messages created. ``deal_contact``: the address of a contact with an open deal
    (the deals app's to find), whose message goes on that deal."""
    if Mailbox.objects.filter(name=DEMO_MAILBOX).exists():
        return (
            f"Mailbox “{DEMO_MAILBOX}” was already there (its token is shown once: replace "
            "it in the admin to see a new one).",
            0,
        )
    team = manager.teams.order_by("pk").first()
    mailbox, token = mailbox_create(name=DEMO_MAILBOX, team=team, source=email_source())
    current = now()
    for raw, ago in _messages(deal_contact):
        inbound_email_receive(mailbox=mailbox, raw=raw, received_at=current - ago)
    created = _backdate(mailbox)
    return (
        f"Mailbox “{DEMO_MAILBOX}”: POST raw emails to {endpoint_url(token)} or pipe them to "
        f'`manage.py ingest_email --mailbox "{DEMO_MAILBOX}"`.',
        created,
    )
