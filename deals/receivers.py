"""What the deals app answers when the lead record asks: an inquiry from outside that
belongs on a deal (``leads.signals.inquiry_received``)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.dispatch import receiver

from crm.models import Notification, loaded
from crm.notifications import notify
from deals.models import Deal, DealNote, Stage
from leads.capture.services import ATTACHED, Captured, Inquiry, owner_from
from leads.inbound.services import notification_thread_target
from leads.signals import inquiry_received


def _thread_deal(inquiry: Inquiry) -> Deal | None:
    note = (
        DealNote.objects.filter(message_id__in=[m for m in inquiry.thread if m])
        .select_related("deal__owner")
        .order_by("-created_at", "-pk")
        .first()
    )
    if note is not None:
        return note.deal
    # A reply to an email of the CRM's outbox about this deal (a reminder, an alert).
    deal_id = notification_thread_target(inquiry.thread, "deals", "deal")
    return Deal.objects.select_related("owner").filter(pk=deal_id).first() if deal_id else None


# The newest open deal of a contact with this email (else this normalised phone). Every
# new lead from outside asks it first, so it is written out: the ORM took longer to
# compile it than the database to answer. tests/deals/test_inquiries.py holds it to the
# models. Contacts keep their email lowercased (deals.services), as the inquiry gives it:
# an exact match uses the email index.
OPEN_DEAL_SQL = """
SELECT d.id, d.title, d.owner_id, u.is_active, u.email, u.first_name, u.last_name
  FROM deals_deal d
  JOIN deals_contact c ON c.id = d.contact_id
  JOIN deals_stage s ON s.id = d.stage_id
  LEFT JOIN accounts_user u ON u.id = d.owner_id
 WHERE s.kind = %(open)s AND c.merged_into_id IS NULL AND ({match})
 ORDER BY {first} d.created_at DESC, d.id DESC
 LIMIT 1
"""


def _contacts_open_deal(inquiry: Inquiry) -> Deal | None:
    """The newest open deal of a contact with the sender's email (else normalised phone).
    One query."""
    match = []
    if inquiry.email:
        match.append("c.email = %(email)s")
    if inquiry.phone_normalized:
        match.append("c.phone_normalized = %(phone)s")
    if not match:
        return None
    sql = OPEN_DEAL_SQL.format(
        match=" OR ".join(match), first="c.email = %(email)s DESC," if inquiry.email else ""
    )
    params = {"open": Stage.Kind.OPEN, "email": inquiry.email, "phone": inquiry.phone_normalized}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    deal = loaded(Deal, {"id": row[0], "title": row[1], "owner_id": row[2]})
    if deal.owner_id is not None:
        deal.owner = owner_from(deal.owner_id, row[3:])
    return deal


@receiver(inquiry_received)
def attach_inquiry_to_deal(
    sender: Any, inquiry: Inquiry, step: str, **kwargs: Any
) -> Captured | None:
    deal = _thread_deal(inquiry) if step == "thread" else _contacts_open_deal(inquiry)
    if deal is None:
        return None
    note = DealNote.objects.create(
        deal=deal,
        kind=inquiry.note_kind,
        body=inquiry.body,
        author=None,
        message_id=inquiry.message_id[:255],
        **({"created_at": inquiry.at} if inquiry.at else {}),
    )
    told = []
    if deal.owner is not None and deal.owner.is_active:
        notify(
            user=deal.owner,
            kind=Notification.Kind.INQUIRY,
            key=f"inquiry:deal-note:{note.pk}",
            title=f"{deal.title}: a message came in ({inquiry.label})",
            url=deal.get_absolute_url(),
            target=deal,
        )
        told.append(deal.owner.pk)
    return Captured(status=ATTACHED, deal_id=deal.pk, note_id=note.pk, told=told)
