"""A follow-up email sent from a lead or a deal carries a Message-ID its note keeps, so
the answer lands on the same record."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from crm.followups.emails import services as emails
from crm.notifications import message_id as notification_message_id
from crm.notifications import notify
from deals.models import DealNote
from leads.inbound import services
from leads.inbound.models import Mailbox
from leads.models import Lead, LeadNote
from tests.deals.helpers import make_deal
from tests.factories import make_lead
from tests.inbound.conftest import MakeMessage

pytestmark = pytest.mark.django_db


def test_an_email_sent_from_a_lead_keeps_its_message_id_and_the_reply_threads(
    rep: User, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    lead = make_lead(rep, email="rita@acme.test")
    note = emails.lead_send_email(lead=lead, actor=rep, to=lead.email, subject="Hi", body="Hello")
    sent_id = mail.outbox[0].extra_headers["Message-ID"]
    assert sent_id.startswith("<")
    assert sent_id.endswith("@localhost>")  # SITE_URL's host
    note.refresh_from_db()
    assert note.message_id == sent_id

    reply = make_message(
        sender="Rita at home <rita.home@private.test>",
        subject="Re: Hi",
        body="Thanks!\n\n> Hello\n",
        headers={"In-Reply-To": sent_id, "References": sent_id},
    )
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=reply)
    assert (outcome.status, outcome.lead) == ("attached", lead.pk)
    assert "Thanks!" in lead.notes.get(kind=LeadNote.Kind.EMAIL_IN).body
    assert Lead.objects.count() == 1


def test_an_email_sent_from_a_deal_keeps_its_message_id_and_the_reply_threads(
    rep: User, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    deal = make_deal(rep, email="buyer@acme.test")
    note = emails.deal_send_email(
        deal=deal, actor=rep, to="buyer@acme.test", subject="Offer", body="See"
    )
    sent_id = mail.outbox[-1].extra_headers["Message-ID"]
    note.refresh_from_db()
    assert note.message_id == sent_id

    reply = make_message(sender="other@else.test", headers={"In-Reply-To": sent_id})
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=reply)
    assert (outcome.status, outcome.deal, outcome.lead) == ("attached", deal.pk, None)
    assert DealNote.objects.filter(deal=deal, kind="email_in").count() == 1


def test_a_reply_to_a_notification_about_a_deal_threads_onto_the_deal(
    rep: User, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    deal = make_deal(rep, email="buyer@acme.test")
    sent = notify(user=rep, kind="inquiry", key="d:1", title="Deal", url="/", target=deal)
    reply = make_message(
        sender="stranger@else.test", headers={"In-Reply-To": notification_message_id(sent.pk)}
    )
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=reply)
    assert (outcome.status, outcome.deal) == ("attached", deal.pk)
    assert DealNote.objects.filter(deal=deal, kind="email_in").count() == 1
    client = Client()
    client.force_login(rep)
    page = client.get(deal.get_absolute_url()).content.decode()
    assert f"Email received</span> from {deal.contact.full_name}" in page
