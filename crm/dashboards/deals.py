"""The deal side of the manager dashboard: win rates, lost reasons, sales cycle, time in
stage, pipeline, forecast and deal size, for deals someone may see, in six queries.

Every figure is aggregated in SQL (percentiles with ``percentile_cont … WITHIN GROUP``),
so the cost does not grow with the rows Python sees. Money is grouped by currency and
never added across currencies. Each figure counts what the deal list shows for the same
parameters (``deals.filters.DealFilter``), so a dashboard number links to its list:

    won / lost / win rates   state=won|lost|closed, closed_from, closed_to, owner, source
    lost_reasons             state=lost, closed_from, closed_to, lost_reason
    deal_size                state=won, closed_from, closed_to, currency
    pipeline                 state=open, stage, currency
    forecast                 state=open, close_month, currency
    forecast_undated         state=open, no_close_date=1, currency

A deal is closed in the range when its ``closed_at`` falls in [start, end). The list's
``closed_from`` / ``closed_to`` are the inclusive local dates of that range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Extract, NullIf

from deals.models import Deal, DealStageChange, Stage
from deals.selectors import forecast_by_month, weighted_value

NO_OWNER = "No owner"
NO_SOURCE = "No source"
NO_REASON = "No reason"
SECONDS_PER_DAY = 86400.0
CENT = Decimal("0.01")


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
    """Days: how many, and the median and spread of them."""

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


class Percentiles(Aggregate):
    """``percentile_cont(ARRAY[f1, f2, …]) WITHIN GROUP (ORDER BY expression)``: several
    continuous percentiles in one pass of Postgres's aggregate (the expression, which may
    be a subquery, is evaluated once per row, not once per percentile)."""

    function = "percentile_cont"
    template = (
        "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    )
    output_field = ArrayField(FloatField())

    def __init__(self, expression: Any, fractions: tuple[float, ...], **extra: Any) -> None:
        if not fractions or not all(0 <= f <= 1 for f in fractions):
            raise ValueError("Percentiles are fractions between 0 and 1.")
        super().__init__(
            expression, fractions=", ".join(repr(float(f)) for f in fractions), **extra
        )


def _days(duration: Any) -> ExpressionWrapper:
    """An interval as fractional days (epoch seconds / 86,400)."""
    return ExpressionWrapper(
        Extract(duration, "epoch") / Value(SECONDS_PER_DAY), output_field=FloatField()
    )


def _rate(won: int, closed: int) -> float | None:
    return won / closed if closed else None


def _person() -> Coalesce:
    """The owner's name as the rest of the app shows it (``User.__str__``)."""
    return Coalesce(
        NullIf(
            Concat("owner__first_name", Value(" "), "owner__last_name", output_field=CharField()),
            Value(" "),
        ),
        "owner__email",
        output_field=CharField(),
    )


def _rate_rows(tally: dict[tuple[int | None, str], list[int]], empty: str) -> list[RateRow]:
    rows = [
        RateRow(id=pk, label=label or empty, won=won, closed=closed, rate=_rate(won, closed))
        for (pk, label), (won, closed) in tally.items()
    ]
    # Most closed first; the "no owner / no source" row last among equals, then by name.
    return sorted(rows, key=lambda r: (-r.closed, r.id is None, r.label.lower(), r.id or 0))


def deal_figures(deals: QuerySet[Deal], *, start: datetime, end: datetime) -> DealFigures:
    """The deal figures for ``deals`` (already scoped: ``Deal.objects.visible_to(user)``
    narrowed by team / rep / source) over [start, end), in six queries.

    Won / lost, lost reasons, win rates and deal size count deals closed in the range;
    the cycle is lead created → deal won for deals won in the range that came from a
    lead; time in stage counts stage changes that left a stage in the range; pipeline and
    forecast are the open deals now, whatever the range."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware.")
    deals = deals.order_by()
    closed = deals.filter(
        closed_at__gte=start,
        closed_at__lt=end,
        stage__kind__in=[Stage.Kind.WON, Stage.Kind.LOST],
    )

    # 1. Deals closed in range, grouped finely enough for every closed-deal figure.
    tallies = closed.values(
        "stage__kind",
        "owner_id",
        "source_lead__source_id",
        "source_lead__source__name",
        "lost_reason_id",
        "lost_reason__name",
        "currency",
    ).annotate(owner_label=_person(), count=Count("id"), total=Sum("value"))
    won = lost = 0
    by_owner: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0, 0])
    by_source: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0, 0])
    reasons: dict[tuple[int | None, str], int] = defaultdict(int)
    money: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal("0")])
    for row in tallies:
        is_won = row["stage__kind"] == Stage.Kind.WON
        n = row["count"]
        won += n if is_won else 0
        lost += 0 if is_won else n
        owner_key = (row["owner_id"], row["owner_label"] if row["owner_id"] else "")
        source_key = (row["source_lead__source_id"], row["source_lead__source__name"] or "")
        for tally, key in ((by_owner, owner_key), (by_source, source_key)):
            tally[key][0] += n if is_won else 0
            tally[key][1] += n
        if is_won:
            money[row["currency"]][0] += n
            money[row["currency"]][1] += row["total"] or Decimal("0")
        else:
            reasons[(row["lost_reason_id"], row["lost_reason__name"] or "")] += n

    # 2. Sales cycle: lead created → deal won.
    cycle_days = _days(
        ExpressionWrapper(F("closed_at") - F("source_lead__created_at"), DurationField())
    )
    cycle_row = closed.filter(stage__kind=Stage.Kind.WON, source_lead__isnull=False).aggregate(
        n=Count("id"), spread=Percentiles(cycle_days, (0.5, 0.25, 0.75, 0.9))
    )
    cycle = None
    if cycle_row["n"]:
        median, p25, p75, p90 = cycle_row["spread"]
        cycle = Spread(n=cycle_row["n"], median=median, p25=p25, p75=p75, p90=p90)

    # 3. Time in stage: each change that left a stage in range, minus when the deal had
    # entered it (kept on the row; the partial dealstage_left_idx covers the range).
    changes = DealStageChange.objects.all()
    if deals.query.where:  # every deal (an admin, all teams): no need to list their ids
        changes = changes.filter(deal__in=deals.values("pk"))
    stays = (
        changes.filter(
            from_stage_entered_at__isnull=False,
            changed_at__gte=start,
            changed_at__lt=end,
        )
        .values("from_stage_id", "from_stage__name", "from_stage__position")
        .annotate(
            n=Count("*"),
            spread=Percentiles(
                _days(
                    ExpressionWrapper(F("changed_at") - F("from_stage_entered_at"), DurationField())
                ),
                (0.5, 0.25, 0.75),
            ),
        )
        .order_by("from_stage__position", "from_stage_id")
    )
    stage_times = [
        StageSpread(
            stage_id=row["from_stage_id"],
            stage=row["from_stage__name"],
            n=row["n"],
            median=row["spread"][0],
            p25=row["spread"][1],
            p75=row["spread"][2],
        )
        for row in stays
    ]

    # 4. Pipeline now. Open deals have no closed_at (deal_move_stage keeps it so): the
    # partial deal_open_pipeline_idx answers this.
    pipeline = [
        StageMoney(
            stage_id=row["stage_id"],
            stage=row["stage__name"],
            currency=row["currency"],
            count=row["count"],
            value=row["total"] or Decimal("0"),
            weighted=(row["weighted"] or Decimal("0")).quantize(CENT),
        )
        for row in deals.filter(closed_at__isnull=True, stage__kind=Stage.Kind.OPEN)
        .values("stage_id", "stage__name", "stage__position", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum(weighted_value()))
        .order_by("stage__position", "stage_id", "currency")
    ]

    # 5. Forecast by close month (the deal forecast page's own query).
    forecast = [
        MonthMoney(
            month=row.month,
            currency=row.currency,
            count=row.count,
            value=row.value,
            weighted=row.weighted,
        )
        for row in forecast_by_month(deals)
    ]

    # 6. Open deals without a close date: shown as such, not dropped from the forecast.
    forecast_undated = [
        CurrencyCount(currency=row["currency"], count=row["count"], value=row["total"])
        for row in deals.filter(
            closed_at__isnull=True, stage__kind=Stage.Kind.OPEN, expected_close_date__isnull=True
        )
        .values("currency")
        .annotate(count=Count("id"), total=Coalesce(Sum("value"), Decimal("0")))
        .order_by("currency")
    ]

    return DealFigures(
        won=won,
        lost=lost,
        win_rate=_rate(won, won + lost),
        win_rate_by_owner=_rate_rows(by_owner, NO_OWNER),
        win_rate_by_source=_rate_rows(by_source, NO_SOURCE),
        lost_reasons=sorted(
            (
                CountRow(id=pk, label=label or NO_REASON, count=n)
                for (pk, label), n in reasons.items()
            ),
            key=lambda r: (-r.count, r.id is None, r.label.lower()),
        ),
        cycle=cycle,
        stage_times=stage_times,
        pipeline=pipeline,
        forecast=forecast,
        forecast_undated=forecast_undated,
        deal_size=[
            CurrencyMoney(
                currency=currency,
                count=count,
                average=(total / count).quantize(CENT),
                total=total,
            )
            for currency, (count, total) in sorted(money.items())
        ],
    )
