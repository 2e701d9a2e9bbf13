"""benchmark_webforms on a small burst: gunicorn really serves it, every legitimate
submission is stored once with an owner and an acknowledgement, the flooding address is
held to its limit while the others get through, and nothing is left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import Team, User
from crm.models import Notification
from leads.models import AssignmentRule, Lead
from leads.webforms.models import WebForm

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_small_burst_is_stored_once_and_the_flood_is_held(tmp_path: Path, settings: Any) -> None:
    out = tmp_path / "bench.json"
    call_command(
        "benchmark_webforms",
        "--requests", "40",
        "--addresses", "8",
        "--concurrency", "4",
        "--workers", "2",
        "--json", str(out),
    )  # fmt: skip
    results = json.loads(out.read_text())
    assert results["burst"]["stored"] == 40
    assert results["burst"]["statuses"] == {"200": 40}
    flood = results["flood"]
    assert flood["stored_from_the_flooding_address"] == settings.WEBFORM_RATE_PER_ADDRESS[0]
    assert flood["stored_from_the_others"] == 8
    assert sorted(results["round_robin"].values()) == [10, 10, 10, 10]
    # It cleaned up after itself.
    assert not Lead.objects.exists()
    assert not WebForm.objects.exists()
    assert not AssignmentRule.objects.exists()
    assert not Team.objects.filter(name__startswith="Benchmark").exists()
    assert not User.objects.filter(email__startswith="bench-").exists()
    assert not Notification.objects.exists()
