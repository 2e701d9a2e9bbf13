"""Reads the deal pages share: board columns, forecast, timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from crm.models import AuditEvent
from crm.selectors import TimelineEntry, merged_timeline
from deals.models import Deal, DealNote, Stage


def weighted_value() -> ExpressionWrapper:
    """value × probability (the deal's own, else its stage's) / 100, in SQL."""
    return ExpressionWrapper(
        F("value") * Coalesce("probability", "stage__probability") / Value(100),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


@dataclass
class StageTotal:
    stage: Stage
    count: int = 0
    value: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    deals: list[Deal] = field(default_factory=list)


def stage_totals(*deal_sets: Any) -> dict[int, dict[str, Any]]:
    """Per stage: {"count": n, "totals": [{"currency", "total", "weighted"}, ...]}, in one
    query (several sets of deals are grouped separately and joined with UNION ALL, so each
    can use its own index). Deals in different currencies are never added together."""
    grouped = [
        deals.order_by()
        .values("stage_id", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum(weighted_value()))
        for deals in deal_sets
    ]
    rows = grouped[0].union(*grouped[1:], all=True) if len(grouped) > 1 else grouped[0]
    default = settings.DEFAULT_CURRENCY
    result: dict[int, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda row: (row["stage_id"], row["currency"])):
        entry = result.setdefault(row["stage_id"], {"count": 0, "totals": []})
        entry["count"] += row["count"]
        entry["totals"].append(
            {
                "currency": row["currency"],
                "total": row["total"] or Decimal("0"),
                "weighted": (row["weighted"] or Decimal("0")).quantize(Decimal("0.01")),
            }
        )
    for entry in result.values():
        entry["totals"].sort(key=lambda t: (t["currency"] != default, t["currency"]))
    return result


@dataclass
class ForecastMonth:
    month: date
    currency: str
    count: int
    value: Decimal
    weighted: Decimal


def forecast_by_month(deals: Any, since: date | None = None) -> list[ForecastMonth]:
    """Open deals' weighted value by expected close month (and currency), in one query;
    from ``since`` on if given."""
    if since is not None:
        deals = deals.filter(expected_close_date__gte=since)
    # Open deals are the ones without closed_at (deal_move_stage keeps it so), which lets
    # the partial deal_open_pipeline_idx answer this without touching the table.
    rows = (
        deals.filter(closed_at__isnull=True, expected_close_date__isnull=False)
        .filter(stage__kind=Stage.Kind.OPEN)
        .order_by()
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum(weighted_value()))
        .order_by("month", "currency")
    )
    return [
        ForecastMonth(
            month=row["month"],
            currency=row["currency"],
            count=row["count"],
            value=row["total"] or Decimal("0"),
            weighted=(row["weighted"] or Decimal("0")).quantize(Decimal("0.01")),
        )
        for row in rows
    ]


def deal_timeline(deal: Deal, limit: int = 50) -> list[TimelineEntry]:
    notes = DealNote.objects.filter(deal=deal).select_related("author")[:limit]
    return merged_timeline(notes, AuditEvent.objects.for_object(deal)[:limit], limit)
