"""seed_demo's mailbox: made once, in the demo team, with its endpoint printed and a few
messages through the real path."""

from __future__ import annotations

import pytest

from accounts.models import Team, User
from leads.inbound import demo
from leads.inbound.models import InboundEmail, Mailbox
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_the_demo_mailbox_is_made_once(manager: User, rep: User, team: Team) -> None:
    known = make_lead(rep, email="ann.lee@acme.example")
    first, created = demo.seed_mailbox(manager=manager)
    assert "/inbound/email/" in first
    assert created == 1
    again, created = demo.seed_mailbox(manager=manager)
    assert "already there" in again
    assert created == 0
    mailbox = Mailbox.objects.get()
    assert (mailbox.name, mailbox.team, mailbox.source.name) == ("Sales inbox", team, "Email")
    statuses = list(InboundEmail.objects.order_by("pk").values_list("status", "lead"))
    greta = Lead.objects.get(email="greta.lindqvist@nordicfreight.example")
    assert statuses == [("created", greta.pk), ("attached", known.pk), ("ignored", None)]
