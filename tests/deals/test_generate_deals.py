"""The fake-deal generator for performance work.

COPY runs on the test's own connection, so these tests commit for real (transaction=True).
The flush after another transactional test empties the stages migration 0002 made; the
generator puts the default pipeline back when it finds none, so no test depends on run order.
"""

from __future__ import annotations

import time
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Min

from deals.models import Company, Contact, Deal, DealStageChange, Stage

pytestmark = pytest.mark.django_db(transaction=True)


def generate(count: int, *extra: str) -> str:
    out = StringIO()
    call_command("generate_deals", "--count", str(count), *extra, stdout=out)
    return out.getvalue()


def test_generates_deals_companies_contacts_and_history_fast() -> None:
    Stage.objects.all().delete()  # as after another test's flush: the defaults come back
    started = time.perf_counter()
    printed = generate(300, "--batch", "120")
    assert time.perf_counter() - started < 10
    assert "Done: 300 deals" in printed
    assert set(Stage.objects.values_list("name", flat=True)) == {
        "Meeting set",
        "Proposal sent",
        "Negotiation",
        "Won",
        "Lost",
    }

    # ~1 company per 3 deals, ~1 contact per deal, 1–3 history rows per deal.
    deals = Deal.objects.all()
    assert deals.count() == 300
    assert 300 / 4 <= Company.objects.count() <= 300 / 2.4
    assert 0.85 * 300 <= Contact.objects.count() <= 300
    per_deal = Counter(deals.annotate(n=Count("stage_changes")).values_list("n", flat=True))
    assert set(per_deal) <= {1, 2, 3}
    assert len(per_deal) == 3
    assert DealStageChange.objects.filter(from_stage__isnull=True).count() == 300
    shared = Company.objects.annotate(n=Count("deals")).filter(n__gt=1)
    assert shared.count() >= 20

    # Every stage used; won and lost closed (lost with a reason); open ones not.
    stages = Counter(deals.values_list("stage__kind", flat=True))
    assert set(deals.values_list("stage__name", flat=True)) == set(
        Stage.objects.values_list("name", flat=True)
    )
    assert stages["won"] + stages["lost"] >= 100  # three years: most are closed
    assert not deals.filter(stage__kind__in=["won", "lost"], closed_at__isnull=True).exists()
    assert not deals.filter(stage__kind="open", closed_at__isnull=False).exists()
    assert not deals.filter(stage__kind="lost", lost_reason__isnull=True).exists()
    assert not deals.exclude(stage__kind="lost").filter(lost_reason__isnull=False).exists()
    assert not deals.exclude(stage__kind="open").exclude(next_action="").exists()
    assert deals.filter(stage__kind="open").exclude(next_action="").exists()

    # Every check constraint holds (the database would have refused the row otherwise, but
    # the model's validation says it in the same words as the forms).
    for deal in deals.select_related("contact", "company"):
        deal.full_clean(exclude=["source_lead"])
        assert deal.contact is not None
        deal.contact.full_clean()
        if deal.company is not None:
            deal.company.full_clean()
            assert deal.contact.company_id in (None, deal.company_id)
            assert deal.company.owner_id == deal.owner_id
        assert deal.owner_id is not None
        assert deal.team_id is not None
        assert deal.source_lead_id is None
        assert deal.contact.owner_id == deal.owner_id

    # History in order: created, moved, last move = current stage, close = last move.
    assert not deals.exclude(stage_changed_at=F("updated_at")).exists()
    assert (
        not deals.exclude(closed_at__isnull=True).exclude(closed_at=F("stage_changed_at")).exists()
    )
    last_moves = {
        change.deal_id: change.to_stage_id
        for change in DealStageChange.objects.order_by("changed_at", "id")
    }
    assert last_moves == dict(deals.values_list("pk", "stage_id"))
    span = deals.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (span["last"] - span["first"]).days > 2 * 365
    assert not DealStageChange.objects.filter(changed_at__lt=F("deal__created_at")).exists()
    assert not Contact.objects.filter(created_at__gt=F("deals__created_at")).exists()
    assert not Company.objects.filter(created_at__gt=F("deals__created_at")).exists()


def test_running_twice_adds_deals() -> None:
    generate(50)
    generate(30)
    assert Deal.objects.count() == 80
    assert DealStageChange.objects.values("deal").distinct().count() == 80
