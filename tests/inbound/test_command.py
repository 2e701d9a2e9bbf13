"""manage.py ingest_email [--mailbox NAME] < message.eml"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leads.inbound.management.commands import ingest_email
from leads.inbound.models import InboundEmail, Mailbox
from leads.inbound.services import mailbox_create
from leads.models import Lead
from tests.inbound.conftest import MakeMessage

pytestmark = pytest.mark.django_db


def ingest(raw: bytes, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("ingest_email", *args, stdin=io.BytesIO(raw), stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_the_only_mailbox_takes_the_message(mailbox: Mailbox, make_message: MakeMessage) -> None:
    result = ingest(make_message())
    lead = Lead.objects.get()
    assert result == {
        "status": "created",
        "inbound": InboundEmail.objects.get().pk,
        "lead": lead.pk,
        "deal": None,
        "reason": "",
    }


def test_a_mailbox_by_name(mailbox: Mailbox, make_message: MakeMessage) -> None:
    other, _ = mailbox_create(name="Support desk")
    result = ingest(make_message(), "--mailbox", "Support desk")
    assert InboundEmail.objects.get(pk=result["inbound"]).mailbox == other


def test_which_mailbox_when_there_are_several(mailbox: Mailbox, make_message: MakeMessage) -> None:
    mailbox_create(name="support")
    with pytest.raises(CommandError) as refused:
        ingest(make_message())
    assert str(refused.value) == ingest_email.WHICH_MAILBOX.format(count=2, names="sales, support")
    with pytest.raises(CommandError) as refused:
        ingest(make_message(), "--mailbox", "nope")
    assert str(refused.value) == ingest_email.NO_SUCH_MAILBOX.format(
        name="nope", names="sales, support"
    )
    assert not InboundEmail.objects.exists()


def test_no_mailbox(db: None, make_message: MakeMessage) -> None:
    with pytest.raises(CommandError) as refused:
        ingest(make_message())
    assert str(refused.value) == ingest_email.NO_MAILBOX


def test_rejected_is_still_a_stored_message(mailbox: Mailbox) -> None:
    result = ingest(b"\xff\xfe garbage")
    assert result["status"] == "rejected"
    assert InboundEmail.objects.filter(pk=result["inbound"]).exists()


def test_reading_a_large_stream_keeps_the_cap_and_counts_the_rest() -> None:
    data, size = ingest_email.read_capped(io.BytesIO(b"a" * 5000), 1001)
    assert (len(data), size) == (1001, 5000)
    data, size = ingest_email.read_capped(io.BytesIO(b"a" * 50), 1001)
    assert (len(data), size) == (50, 50)
