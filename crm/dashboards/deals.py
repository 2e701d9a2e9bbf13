"""The deal side of the manager dashboard: ``deal_figures``.

PLACEHOLDER with the agreed interface, so the dashboard works on its own branch; the
deal-side engineer's real module replaces this file at merge. ``deals`` is
``Deal.objects.visible_to(user)`` already narrowed by team / rep / source; ``start`` and
``end`` are dates (inclusive) in the current timezone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from deals.models import DealStageChange, Stage


@dataclass(frozen=True)
class RateRow:
    id: int | None
    label: str
    won: int
    closed: int
    rate: float | None


@dataclass(frozen=True)
class CountRow:
    id: int | None
    label: str
    count: int


@dataclass(frozen=True)
class Spread:
    n: int
    median: float
    p25: float
    p75: float
    p90: float


@dataclass(frozen=True)
class StageSpread:
    stage_id: int
    stage: str
    n: int
    median: float
    p25: float
    p75: float


@dataclass(frozen=True)
class StageMoney:
    stage_id: int
    stage: str
    currency: str
    count: int
    value: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class MonthMoney:
    month: date
    currency: str
    count: int
    value: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class CurrencyCount:
    currency: str
    count: int
    value: Decimal


@dataclass(frozen=True)
class CurrencyMoney:
    currency: str
    count: int
    average: Decimal
    total: Decimal


@dataclass(frozen=True)
class DealFigures:
    won: int
    lost: int
    win_rate: float | None
    win_rate_by_owner: list[RateRow]
    win_rate_by_source: list[RateRow]
    lost_reasons: list[CountRow]
    cycle: Spread | None
    stage_times: list[StageSpread]
    pipeline: list[StageMoney]
    forecast: list[MonthMoney]
    forecast_undated: list[CurrencyCount]
    deal_size: list[CurrencyMoney]


class Percentile(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def _rate(won: int, closed: int) -> float | None:
    return won / closed if closed else None


def _person(row: dict[str, Any]) -> str:
    name = f"{row.get('owner__first_name') or ''} {row.get('owner__last_name') or ''}".strip()
    return name or row.get("owner__email") or "Unassigned"


def deal_figures(deals: QuerySet[Any], *, start: date, end: date) -> DealFigures:
    low, high = _bounds(start, end)
    closed = deals.filter(closed_at__gte=low, closed_at__lt=high, stage__kind__in=["won", "lost"])
    won_q = Q(stage__kind=Stage.Kind.WON)
    by_owner = (
        closed.values("owner_id", "owner__first_name", "owner__last_name", "owner__email")
        .annotate(won=Count("pk", filter=won_q), closed=Count("pk"))
        .order_by("owner__first_name", "owner__last_name", "owner_id")
    )
    owner_rows = [
        RateRow(r["owner_id"], _person(r), r["won"], r["closed"], _rate(r["won"], r["closed"]))
        for r in by_owner
    ]
    by_source = (
        closed.values("source_lead__source_id", "source_lead__source__name")
        .annotate(won=Count("pk", filter=won_q), closed=Count("pk"))
        .order_by("source_lead__source__name")
    )
    source_rows = [
        RateRow(
            r["source_lead__source_id"],
            r["source_lead__source__name"] or "No source",
            r["won"],
            r["closed"],
            _rate(r["won"], r["closed"]),
        )
        for r in by_source
    ]
    won = sum(r.won for r in owner_rows)
    total = sum(r.closed for r in owner_rows)
    reasons = [
        CountRow(r["lost_reason_id"], r["lost_reason__name"] or "No reason", r["n"])
        for r in closed.filter(stage__kind=Stage.Kind.LOST)
        .values("lost_reason_id", "lost_reason__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "lost_reason__name")
    ]
    days = Func(
        F("closed_at") - F("source_lead__created_at"),
        template="EXTRACT(EPOCH FROM %(expressions)s) / 86400.0",
        output_field=FloatField(),
    )
    cycle_row = (
        closed.filter(won_q, source_lead__isnull=False)
        .annotate(days=days)
        .aggregate(
            n=Count("pk"),
            median=Percentile("days", 0.5),
            p25=Percentile("days", 0.25),
            p75=Percentile("days", 0.75),
            p90=Percentile("days", 0.9),
        )
    )
    cycle = (
        Spread(
            cycle_row["n"],
            cycle_row["median"],
            cycle_row["p25"],
            cycle_row["p75"],
            cycle_row["p90"],
        )
        if cycle_row["n"]
        else None
    )
    stage_times = _stage_times(deals, low, high)
    weighted = ExpressionWrapper(
        F("value") * Coalesce("probability", "stage__probability") / 100,
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )
    open_deals = deals.filter(stage__kind=Stage.Kind.OPEN)
    pipeline = [
        StageMoney(r["stage_id"], r["stage__name"], r["currency"], r["n"], r["amount"], r["wsum"])
        for r in open_deals.values("stage_id", "stage__name", "stage__position", "currency")
        .annotate(n=Count("pk"), amount=Sum("value"), wsum=Sum(weighted))
        .order_by("stage__position", "stage_id", "currency")
    ]
    forecast = [
        MonthMoney(r["month"], r["currency"], r["n"], r["amount"], r["wsum"])
        for r in open_deals.filter(expected_close_date__isnull=False)
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month", "currency")
        .annotate(n=Count("pk"), amount=Sum("value"), wsum=Sum(weighted))
        .order_by("month", "currency")
    ]
    undated = [
        CurrencyCount(r["currency"], r["n"], r["amount"])
        for r in open_deals.filter(expected_close_date__isnull=True)
        .values("currency")
        .annotate(n=Count("pk"), amount=Sum("value"))
        .order_by("currency")
    ]
    size = [
        CurrencyMoney(
            r["currency"], r["n"], (r["total"] / r["n"]).quantize(Decimal("0.01")), r["total"]
        )
        for r in closed.filter(won_q)
        .values("currency")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by("currency")
    ]
    return DealFigures(
        won=won,
        lost=total - won,
        win_rate=_rate(won, total),
        win_rate_by_owner=owner_rows,
        win_rate_by_source=source_rows,
        lost_reasons=reasons,
        cycle=cycle,
        stage_times=stage_times,
        pipeline=pipeline,
        forecast=forecast,
        forecast_undated=undated,
        deal_size=size,
    )


def _stage_times(deals: QuerySet[Any], low: datetime, high: datetime) -> list[StageSpread]:
    """Days spent in a stage, for every change leaving it within the range: the time since
    the change that entered it (or the deal's creation for its first stage)."""
    ids_sql, ids_params = deals.values("pk").query.sql_with_params()
    table = DealStageChange._meta.db_table
    sql = f"""
    SELECT c.from_stage_id, st.name, COUNT(*),
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY c.days),
        PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY c.days),
        PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY c.days)
    FROM (
        SELECT c.from_stage_id, EXTRACT(EPOCH FROM c.changed_at - COALESCE(
            (SELECT MAX(p.changed_at) FROM {table} p
             WHERE p.deal_id = c.deal_id AND p.changed_at < c.changed_at),
            d.created_at)) / 86400.0 AS days
        FROM {table} c JOIN deals_deal d ON d.id = c.deal_id
        WHERE c.changed_at >= %s AND c.changed_at < %s AND c.from_stage_id IS NOT NULL
          AND c.deal_id IN ({ids_sql})
    ) c JOIN deals_stage st ON st.id = c.from_stage_id
    GROUP BY c.from_stage_id, st.name, st.position ORDER BY st.position, c.from_stage_id
    """  # noqa: S608 - table names are constants, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [low, high, *ids_params])
        return [StageSpread(r[0], r[1], r[2], r[3], r[4], r[5]) for r in cursor.fetchall()]
