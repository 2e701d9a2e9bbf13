"""benchmark_inbound on a small batch: every kind of message goes through ingest_email
with the outcome its kind expects (created, attached, duplicate, ignored, rejected), one
goes through a fresh process as an MTA pipes it, and nothing is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from leads.inbound.models import InboundEmail, Mailbox
from leads.models import Lead

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_small_batch_of_every_kind(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    call_command("benchmark_inbound", "--count", "40", "--processes", "1", "--json", str(out))
    results = json.loads(out.read_text())
    assert results["unexpected"] == []
    # Four of each ten: every kind twice over, duplicates stored once.
    assert results["statuses"] == {
        "created": 24,
        "attached": 4,
        "duplicate": 4,
        "ignored": 4,
        "rejected": 4,
    }
    assert results["stored"] == 36  # the duplicates are not stored again
    assert results["through_a_new_process_each"]["messages"] == 1
    assert results["messages_per_s"] > 0
    assert not Mailbox.objects.exists()
    assert not InboundEmail.objects.exists()
    assert not Lead.objects.exists()
