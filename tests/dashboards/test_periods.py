"""A range's whole weeks or months are read from ``LeadPeriod`` (its lost reasons' whole
months from ``LeadReasonMonth``) and its ragged ends from the day tables: whatever the
range, the figures equal those summed from the days alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import Sum

from accounts.models import User
from crm.dashboards.models import COUNT_FIELDS, LeadDay, LeadReasonDay
from crm.dashboards.selectors import Selection, lead_figures, whole_periods
from leads.models import LostReason, Source
from leads.selectors import choices_for
from tests.dashboards.conftest import at, stamp
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "end", "period", "whole"),
    [
        # Tue 3 Nov .. Mon 30 Nov: the weeks from Mon 9 Nov to Sun 29 Nov are whole.
        (date(2026, 11, 3), date(2026, 11, 30), "week", (date(2026, 11, 9), date(2026, 11, 30))),
        # Monday to Sunday: one whole week.
        (date(2026, 11, 2), date(2026, 11, 8), "week", (date(2026, 11, 2), date(2026, 11, 9))),
        # Wednesday to Sunday: no whole week (first == stop).
        (date(2026, 11, 4), date(2026, 11, 8), "week", (date(2026, 11, 9), date(2026, 11, 9))),
        (date(2026, 10, 15), date(2026, 12, 31), "month", (date(2026, 11, 1), date(2027, 1, 1))),
        (date(2026, 11, 1), date(2026, 11, 29), "month", (date(2026, 11, 1), date(2026, 11, 1))),
        (date(2026, 11, 2), date(2026, 11, 20), "month", (date(2026, 12, 1), date(2026, 12, 1))),
    ],
)
def test_whole_periods(start: date, end: date, period: str, whole: tuple[date, date]) -> None:
    sel = Selection(start, end, "custom", period, None, None, None)
    assert whole_periods(sel) == whole


def from_days(user: User, sel: Selection) -> tuple[dict[str, int], dict[Any, int], dict[Any, int]]:
    """The figures as plain sums of LeadDay: totals, per rep, and leads per period × source."""
    days = LeadDay.objects.visible_to(user).filter(day__gte=sel.start, day__lte=sel.end)
    if sel.owner_id is not None:
        days = days.filter(owner_id=sel.owner_id)
    total = days.aggregate(**{name: Sum(name, default=0) for name in COUNT_FIELDS})
    per_owner = {
        row["owner_id"]: row["n"]
        for row in days.values("owner_id").annotate(n=Sum("leads")).order_by()
    }
    volume: dict[Any, int] = defaultdict(int)
    for day, source, leads in days.values_list("day", "source_id", "leads"):
        start = day - timedelta(days=day.weekday()) if sel.period == "week" else day.replace(day=1)
        volume[(start, source)] += leads
    return total, per_owner, {k: v for k, v in volume.items() if v}


def test_figures_equal_the_days_summed_whatever_the_range(
    manager: User, rep: User, rep_b: User, web: Source, referral: Source, reason: LostReason
) -> None:
    # Leads on every third day from early October to mid-December, two reps, two sources.
    for i in range(25):
        day = date(2026, 10, 1) + timedelta(days=3 * i)
        owner = rep if i % 2 else rep_b
        lead = make_lead(owner, owner=owner, source=web if i % 3 else referral)
        status = ["new", "contacted", "lost", "unqualified"][i % 4]
        stamp(lead, created_at=at(day.day, day.month), status=status,
              lost_reason=reason if status in ("lost", "unqualified") else None)  # fmt: skip
    choices = choices_for(manager)
    ranges = [
        (date(2026, 10, 1), date(2026, 12, 15)),
        (date(2026, 10, 7), date(2026, 11, 18)),
        (date(2026, 11, 2), date(2026, 11, 29)),
        (date(2026, 11, 4), date(2026, 11, 6)),
        (date(2026, 10, 31), date(2026, 12, 1)),
    ]
    for start, end in ranges:
        for period in ("week", "month"):
            for owner_id in (None, rep.pk):
                sel = Selection(start, end, "custom", period, None, owner_id, None)
                got = lead_figures(manager, sel, choices)
                total, per_owner, volume = from_days(manager, sel)
                case = (start, end, period, owner_id)
                assert {k: v or 0 for k, v in got.total.values.items()} == total, case
                assert {r.id: r.counts.leads for r in got.by_owner} == per_owner, case
                assert got.volume == volume, case
                reasons = (
                    LeadReasonDay.objects.filter(day__gte=start, day__lte=end)
                    .filter(**({"owner_id": owner_id} if owner_id else {}))
                    .values_list("status", "lost_reason_id")
                    .annotate(n=Sum("leads"))
                    .filter(n__gt=0)
                )
                assert {(r.status, r.id): r.count for r in got.reasons} == {
                    (status, lost): n for status, lost, n in reasons
                }, case
                assert got.total.leads > 0 or start == date(2026, 11, 4), case
    whole = Selection(date(2026, 10, 1), date(2026, 12, 15), "custom", "month", None, None, None)
    assert {r.status for r in lead_figures(manager, whole, choices).reasons} == {
        "lost",
        "unqualified",
    }
