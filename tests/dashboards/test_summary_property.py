"""The trigger-kept summary equals a live count of the leads, after any sequence of writes:
services (create, status, owner), bulk QuerySet updates and deletes (hypothesis). The
weekly and monthly rows equal the live days summed by week (from Monday) and by month,
and so do the lost reasons' monthly rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.dashboards.models import (
    BUCKET_FIELDS,
    COUNT_FIELDS,
    RESPONSE_BUCKETS,
    LeadDay,
    LeadPeriod,
    LeadReasonDay,
    LeadReasonMonth,
    OpenLeads,
)
from leads import services as lead_services
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

STATUSES = ["new", "contacted", "qualified", "unqualified", "lost", "junk", "not_contacted"]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 2), st.integers(0, 2), st.integers(0, 40)),
        st.tuples(st.just("status"), st.integers(0, 30), st.sampled_from(STATUSES), st.just(0)),
        st.tuples(st.just("assign"), st.integers(0, 30), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("move_day"), st.integers(0, 30), st.integers(0, 40), st.just(0)),
        st.tuples(st.just("answer"), st.integers(0, 30), st.integers(0, 20000), st.just(0)),
        st.tuples(st.just("bulk_status"), st.sampled_from(STATUSES), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 30), st.just(0), st.just(0)),
        st.tuples(st.just("next"), st.integers(0, 30), st.booleans(), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


class Rollback(Exception):
    pass


SEEN = {"examples": 0, "leads": 0}


def live(leads: list[Lead]) -> tuple[dict[Any, dict[str, int]], dict[Any, int], dict[Any, Any]]:
    """What the summary should hold, counted in Python from the leads themselves."""
    days: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[Any, int] = defaultdict(int)
    opened: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    for lead in leads:
        if lead.status in Lead.OPEN_STATUSES:
            waiting = lead.status == "new" and lead.first_contacted_at is None and lead.sla_due_at
            month = lead.sla_due_at.astimezone(UTC).date().replace(day=1) if waiting else None
            counts = opened[(lead.team_id, lead.owner_id, lead.source_id, month)]
            counts[0] += 1
            counts[1] += lead.next_action_due is None
            counts[2] += bool(waiting)
        key = (lead.created_at.astimezone(UTC).date(), lead.team_id, lead.owner_id, lead.source_id)
        row = days[key]
        row["leads"] += 1
        row[f"s_{lead.status}"] += 1
        row["reached_contacted"] += lead.first_contacted_at is not None
        row["reached_qualified"] += lead.qualified_at is not None
        if lead.first_response_time is not None:
            row["responded"] += 1
            seconds = lead.first_response_time.total_seconds()
            row["response_seconds"] += round(seconds)
            bucket = sum(1 for edge in RESPONSE_BUCKETS if seconds / 60 >= edge)
            row[BUCKET_FIELDS[bucket]] += 1
        if lead.first_contacted_at is not None and lead.sla_due_at is not None:
            row["with_target"] += 1
            row["within_target"] += lead.first_contacted_at <= lead.sla_due_at
        if lead.status in ("lost", "unqualified"):
            reasons[(*key, lead.status, lead.lost_reason_id)] += 1
    return days, reasons, {k: tuple(v) for k, v in opened.items()}


def by_period(days: dict[Any, dict[str, int]]) -> dict[Any, dict[str, int]]:
    periods: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (day, *key), row in days.items():
        for grain, start in (
            ("week", day - timedelta(days=day.weekday())),
            ("month", day.replace(day=1)),
        ):
            for name, value in row.items():
                periods[(grain, start, *key)][name] += value
    return {
        k: {n: v for n, v in row.items() if v} for k, row in periods.items() if any(row.values())
    }


def stored() -> tuple[dict[Any, dict[str, int]], dict[Any, int], dict[Any, Any]]:
    days = {}
    for row in LeadDay.objects.all():
        values = {name: getattr(row, name) for name in COUNT_FIELDS if getattr(row, name)}
        if values:
            days[(row.day, row.team_id, row.owner_id, row.source_id)] = values
    reasons = {
        (r.day, r.team_id, r.owner_id, r.source_id, r.status, r.lost_reason_id): r.leads
        for r in LeadReasonDay.objects.exclude(leads=0)
    }
    opened = {
        (r.team_id, r.owner_id, r.source_id, r.wait_month): (r.leads, r.no_action, r.waiting)
        for r in OpenLeads.objects.exclude(leads=0, no_action=0, waiting=0)
    }
    return days, reasons, opened


def reasons_by_month(reasons: dict[Any, int]) -> dict[Any, int]:
    months: dict[Any, int] = defaultdict(int)
    for (day, *key), n in reasons.items():
        months[(day.replace(day=1), *key)] += n
    return {k: v for k, v in months.items() if v}


def stored_reason_months() -> dict[Any, int]:
    return {
        (r.month, r.team_id, r.owner_id, r.source_id, r.status, r.lost_reason_id): r.leads
        for r in LeadReasonMonth.objects.exclude(leads=0)
    }


def stored_periods() -> dict[Any, dict[str, int]]:
    periods = {}
    for row in LeadPeriod.objects.all():
        values = {name: getattr(row, name) for name in COUNT_FIELDS if getattr(row, name)}
        if values:
            periods[(row.grain, row.start, row.team_id, row.owner_id, row.source_id)] = values
    return periods


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(steps=actions)
def run(steps: list[tuple[Any, ...]], people: list[Any], sources: list[Any], reason: Any) -> None:
    base = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    try:
        with transaction.atomic():
            made: list[int] = []
            seed = [("create", i % 3, i % 3, 3 * i) for i in range(4)]
            for kind, a, b, c in seed + steps:
                lead = (
                    Lead.objects.filter(pk=made[a % len(made)]).first()
                    if made and kind not in ("create", "bulk_status")
                    else None
                )
                try:
                    if kind == "create":
                        owner = people[a]
                        new = make_lead(owner, owner=owner, source=sources[b] if b < 2 else None)
                        Lead.objects.filter(pk=new.pk).update(
                            created_at=base + timedelta(days=c, hours=c % 7)
                        )
                        made.append(new.pk)
                    elif lead is None:
                        continue
                    elif kind == "status":
                        lead_services.lead_change_status(
                            lead=lead,
                            actor=people[3],
                            status=b,
                            reason=reason if b in ("lost", "unqualified") else None,
                        )
                    elif kind == "assign":
                        lead_services.lead_assign_owner(lead=lead, actor=people[3], owner=people[b])
                    elif kind == "move_day":
                        Lead.objects.filter(pk=lead.pk).update(created_at=base + timedelta(days=b))
                    elif kind == "answer":
                        Lead.objects.filter(pk=lead.pk).update(
                            first_contacted_at=lead.created_at + timedelta(minutes=b),
                            first_response_time=timedelta(minutes=b),
                            sla_due_at=lead.created_at + timedelta(hours=24),
                        )
                    elif kind == "next" and b:
                        lead_services.lead_set_next_action(
                            lead=lead,
                            actor=people[3],
                            next_action="Call",
                            due=now() + timedelta(days=1),
                        )
                    elif kind == "next":
                        Lead.objects.filter(pk=lead.pk).update(next_action_due=None, next_action="")
                    elif kind == "delete":
                        Lead.objects.filter(pk=lead.pk).delete()
                        made.remove(lead.pk)
                except ValidationError:
                    pass
                if kind == "bulk_status" and made:
                    Lead.objects.filter(pk__in=made, owner=people[b]).update(status=a)
            expected = live(list(Lead.objects.filter(merged_into__isnull=True)))
            got = stored()
            SEEN["examples"] += 1
            SEEN["leads"] += sum(row["leads"] for row in expected[0].values())
            assert got[0] == {
                k: {n: v for n, v in row.items() if v} for k, row in expected[0].items()
            }
            assert got[1] == {k: v for k, v in expected[1].items() if v}
            assert got[2] == {k: v for k, v in expected[2].items() if any(v)}
            assert stored_periods() == by_period(expected[0])
            assert stored_reason_months() == reasons_by_month(expected[1])
            raise Rollback
    except Rollback:
        pass


def test_summary_matches_a_live_count_after_any_writes(
    rep, rep_b, rep_c, admin, web, referral, reason
) -> None:
    run(people=[rep, rep_b, rep_c, admin], sources=[web, referral], reason=reason)
    # The examples really wrote leads (not 25 empty sequences).
    assert SEEN["examples"] >= 20
    assert SEEN["leads"] >= 80
