"""What the deals app answers when the lead record asks: an inquiry from outside that
belongs on a deal (``leads.signals.inquiry_received``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Q, Value, When
from django.dispatch import receiver

from crm.models import Notification
from crm.notifications import notify
from deals.models import Deal, DealNote, Stage
from leads.capture.services import ATTACHED, Captured, Inquiry
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


def _contacts_open_deal(inquiry: Inquiry) -> Deal | None:
    """The newest open deal of a contact with the sender's email (else normalised phone).
    One query."""
    # Contacts keep their email lowercased (deals.services), as the inquiry gives it: an
    # exact match uses the email index.
    conditions = [Q(contact__email=inquiry.email)] if inquiry.email else []
    if inquiry.phone_normalized:
        conditions.append(Q(contact__phone_normalized=inquiry.phone_normalized))
    if not conditions:
        return None
    match = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    by_email = (
        Case(When(contact__email=inquiry.email, then=Value(0)), default=Value(1))
        if inquiry.email
        else Value(1)
    )
    return (
        Deal.objects.filter(match, stage__kind=Stage.Kind.OPEN)
        .select_related("owner")
        .only("title", "owner__is_active", "owner__email")
        .order_by(by_email, "-created_at", "-pk")
        .first()
    )


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
