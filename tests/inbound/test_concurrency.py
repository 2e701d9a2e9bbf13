"""A provider that posts the same message twice at once gets one stored message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from leads.inbound import services
from leads.inbound.models import InboundEmail, Mailbox
from leads.models import Lead
from tests.inbound.conftest import MakeMessage


@pytest.mark.django_db(transaction=True)
def test_the_same_message_posted_twice_at_once_is_stored_once(
    mailbox: Mailbox, make_message: MakeMessage
) -> None:
    raw = make_message(message_id="<twice@acme.test>")
    barrier = threading.Barrier(4)
    outcomes: list[services.Outcome] = []

    def post() -> None:
        try:
            barrier.wait()
            outcomes.append(services.inbound_email_receive(mailbox=mailbox, raw=raw))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(o.status for o in outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
    assert InboundEmail.objects.count() == 1
    assert Lead.objects.count() == 1
    assert {o.inbound for o in outcomes} == {InboundEmail.objects.get().pk}
