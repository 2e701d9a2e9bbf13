"""An email that came in reads as the person's message on the lead's timeline."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from leads.inbound import services
from leads.inbound.models import Mailbox
from leads.models import AssignmentRule, Lead
from tests.inbound.conftest import MakeMessage

pytestmark = pytest.mark.django_db


def test_the_lead_page_shows_the_email_from_the_lead(
    rep: User, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    AssignmentRule.objects.create(name="All mail to Rep A", mailbox_ids=[mailbox.pk], user=rep)
    outcome = services.inbound_email_receive(
        mailbox=mailbox, raw=make_message(body="Can you call me <tomorrow>?")
    )
    lead = Lead.objects.get(pk=outcome.lead or 0)
    client = Client()
    client.force_login(rep)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert "Email received</span> from Rita Acme" in page
    assert "Can you call me &lt;tomorrow&gt;?" in page
    assert "— via Mailbox “sales”" in page
