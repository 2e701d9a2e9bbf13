"""The manager dashboard's lead figures, read from the daily summary.

Every figure starts from a ``visible_to(user)`` queryset — ``LeadDay`` / ``LeadReasonDay``
(which carry the lead's owner and team, so the leads' row-level rule applies to them
unchanged), ``Lead`` for the current-state counts, ``Task`` for overdue follow-ups — then
narrowed by the page's selection. The summary is read in one grouped query (GROUPING
SETS: totals, per rep, per source, per period × source), so the number of queries does
not grow with the number of reps, sources or days.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, DateField, F, Q, QuerySet, Sum
from django.db.models.functions import Cast, Trunc
from django.utils import timezone

from accounts.models import Membership, Scope, User, access_scope
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
from crm.followups.models import Task
from leads.models import Lead
from leads.selectors import Choices


@dataclass(frozen=True)
class Selection:
    """What the page shows: validated, with the scope's narrowing already applied."""

    start: date
    end: date
    preset: str
    period: str
    team_id: int | None
    owner_id: int | None  # a rep's own id for a rep; ``0`` = unassigned
    source_id: int | None


@dataclass
class Counts:
    """Summed summary columns of one group (a rep, a source, a period × source, all)."""

    values: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        return int(self.values.get(name, 0) or 0)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.s_converted, self.leads)

    @property
    def qualification_rate(self) -> float | None:
        return ratio(self.reached_qualified, self.leads)

    @property
    def within_share(self) -> float | None:
        return ratio(self.within_target, self.with_target)

    @property
    def average_minutes(self) -> float | None:
        return self.response_seconds / 60 / self.responded if self.responded else None

    def percentile(self, fraction: float) -> int | None:
        """The upper edge (minutes) of the histogram bucket the percentile falls in;
        ``None`` with no responses, ``-1`` for the open-ended last bucket."""
        if not self.responded:
            return None
        needed = fraction * self.responded
        running = 0
        for i, name in enumerate(BUCKET_FIELDS):
            running += getattr(self, name)
            if running >= needed and running > 0:
                return RESPONSE_BUCKETS[i] if i < len(RESPONSE_BUCKETS) else -1
        return -1

    @property
    def median_minutes(self) -> int | None:
        return self.percentile(0.5)

    @property
    def p90_minutes(self) -> int | None:
        return self.percentile(0.9)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Row:
    id: int | None
    label: str
    counts: Counts


@dataclass
class CurrentRow:
    id: int | None
    label: str
    no_action: int = 0
    breaching: int = 0
    overdue_tasks: int = 0


@dataclass
class ReasonRow:
    status: str
    id: int | None
    label: str
    count: int


@dataclass
class LeadFigures:
    total: Counts
    by_owner: list[Row]
    by_source: list[Row]
    periods: list[date]
    volume: dict[tuple[date, int | None], int]  # (period, source id) → leads
    volume_sources: list[Row]
    reasons: list[ReasonRow]
    current: list[CurrentRow]

    @property
    def is_empty(self) -> bool:
        return self.total.leads == 0


def narrow(qs: QuerySet[Any], sel: Selection, *, owner: str = "owner_id") -> QuerySet[Any]:
    """The page's team / rep / source narrowing, for anything with a lead's columns."""
    if sel.team_id is not None:
        qs = qs.filter(team_id=sel.team_id)
    if sel.owner_id == 0:
        qs = qs.filter(**{f"{owner}__isnull": True})
    elif sel.owner_id is not None:
        qs = qs.filter(**{owner: sel.owner_id})
    if sel.source_id is not None:
        qs = qs.filter(source_id=sel.source_id)
    return qs


def whole_periods(sel: Selection) -> tuple[date, date]:
    """[first, stop): the range's whole weeks (from Monday) or whole months, by the page's
    period; ``first == stop`` when it holds none. The summary reads those from
    ``LeadPeriod`` and only the days around them from ``LeadDay``."""
    after_end = sel.end + timedelta(days=1)
    if sel.period == "month":
        first = sel.start.replace(day=1)
        if first != sel.start:
            first = (first + timedelta(days=32)).replace(day=1)
        stop = after_end.replace(day=1)
    else:
        first = sel.start + timedelta(days=(7 - sel.start.weekday()) % 7)
        stop = after_end - timedelta(days=after_end.weekday())
    return first, max(first, stop)


def summary_rows(user: User, sel: Selection) -> QuerySet[Any]:
    """The range's summary rows, one per rep × source × (day or whole period), each with
    its ``period`` (the week's Monday or the month's first day) and its counts."""
    first, stop = whole_periods(sel)
    days = narrow(
        LeadDay.objects.visible_to(user)
        .filter(day__gte=sel.start, day__lte=sel.end)
        .exclude(day__gte=first, day__lt=stop),
        sel,
    ).annotate(period=Cast(Trunc("day", sel.period), DateField()))
    periods = narrow(
        LeadPeriod.objects.visible_to(user).filter(
            grain=sel.period, start__gte=first, start__lt=stop
        ),
        sel,
    ).annotate(period=F("start"))
    columns = ("owner_id", "source_id", "period", *COUNT_FIELDS)
    return days.values(*columns).union(periods.values(*columns), all=True)


def _grouped(user: User, sel: Selection) -> list[dict[str, Any]]:
    inner_sql, params = summary_rows(user, sel).query.sql_with_params()
    sums = ", ".join(f"SUM({name}) AS {name}" for name in COUNT_FIELDS)
    sql = (
        "SELECT GROUPING(owner_id, source_id, period) AS g, owner_id, source_id, period, "  # noqa: S608
        f"{sums} FROM ({inner_sql}) AS days "
        "GROUP BY GROUPING SETS ((), (owner_id), (source_id), (period, source_id))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [col.name for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def reason_counts(user: User, sel: Selection) -> list[dict[str, Any]]:
    """Lost and unqualified leads of the range per (status, reason), most first: whole
    months from ``LeadReasonMonth``, the days around them from ``LeadReasonDay``."""
    first, stop = whole_periods(replace(sel, period="month"))
    days = narrow(
        LeadReasonDay.objects.visible_to(user)
        .filter(day__gte=sel.start, day__lte=sel.end)
        .exclude(day__gte=first, day__lt=stop),
        sel,
    )
    months = narrow(
        LeadReasonMonth.objects.visible_to(user).filter(month__gte=first, month__lt=stop), sel
    )
    columns = ("status", "lost_reason_id", "leads")
    inner, params = (
        days.values(*columns).union(months.values(*columns), all=True).query.sql_with_params()
    )
    sql = (
        "SELECT status, lost_reason_id, SUM(leads) AS n FROM ("  # noqa: S608
        f"{inner}) AS r GROUP BY status, lost_reason_id HAVING SUM(leads) > 0 "
        "ORDER BY status, n DESC, lost_reason_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"status": status, "lost_reason_id": reason, "n": n}
            for status, reason, n in cursor.fetchall()
        ]


def lead_figures(user: User, sel: Selection, choices: Choices) -> LeadFigures:
    owners = dict(choices.owners)
    sources = dict(choices.sources)
    reasons_by_id = dict(choices.lost_reasons)
    total = Counts()
    by_owner: list[Row] = []
    by_source: list[Row] = []
    volume: dict[tuple[date, int | None], int] = {}
    periods: set[date] = set()
    for row in _grouped(user, sel):
        counts = Counts({name: row[name] for name in COUNT_FIELDS})
        if row["g"] == 7:
            total = counts
        elif row["g"] == 3 and counts.leads:
            by_owner.append(Row(row["owner_id"], owner_label(row["owner_id"], owners), counts))
        elif row["g"] == 5 and counts.leads:
            by_source.append(Row(row["source_id"], source_label(row["source_id"], sources), counts))
        elif row["g"] == 4 and counts.leads:
            period = row["period"]
            period = period.date() if isinstance(period, datetime) else period
            periods.add(period)
            volume[(period, row["source_id"])] = counts.leads
    by_owner.sort(key=lambda r: (r.id is None, r.label.lower()))
    by_source.sort(key=lambda r: (-r.counts.leads, r.label.lower()))
    reasons = [
        ReasonRow(
            r["status"],
            r["lost_reason_id"],
            reasons_by_id.get(r["lost_reason_id"], "No reason")
            if r["lost_reason_id"] is not None
            else "No reason",
            r["n"],
        )
        for r in reason_counts(user, sel)
    ]
    return LeadFigures(
        total=total,
        by_owner=by_owner,
        by_source=by_source,
        periods=sorted(periods),
        volume=volume,
        volume_sources=by_source,
        reasons=reasons,
        current=current_state(user, sel, owners),
    )


def owner_label(pk: int | None, owners: dict[int, str]) -> str:
    if pk is None:
        return "Unassigned"
    return owners.get(pk, f"Former user #{pk}")


def source_label(pk: int | None, sources: dict[int, str]) -> str:
    if pk is None:
        return "No source"
    return sources.get(pk, f"Source #{pk}")


def scoped_leads(user: User, sel: Selection) -> Any:
    leads = Lead.objects.visible_to(user)
    if access_scope(user) == Scope.OWN:
        leads = leads.filter(owner_id=user.pk)
    return narrow(leads, sel)


def current_state(user: User, sel: Selection, owners: dict[int, str]) -> list[CurrentRow]:
    """Now, whatever the date range: open leads without a next action, new leads past
    their contact-by deadline, overdue follow-ups — per rep. The lead counts come from
    ``OpenLeads`` (deadlines before this month) plus a live count of this month's waiting
    leads past their deadline (a one-month range of ``lead_sla_waiting_idx``)."""
    now = timezone.now()
    month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows: dict[int | None, CurrentRow] = {}

    def row_of(pk: int | None) -> CurrentRow:
        return rows.setdefault(pk, CurrentRow(pk, owner_label(pk, owners)))

    summary = narrow(OpenLeads.objects.visible_to(user), sel)
    for r in (
        summary.values("owner_id")
        .annotate(
            no_action=Sum("no_action"),
            breaching=Sum("waiting", filter=Q(wait_month__lt=month.date()), default=0),
        )
        .filter(Q(no_action__gt=0) | Q(breaching__gt=0))
        .order_by()
    ):
        row = row_of(r["owner_id"])
        row.no_action, row.breaching = r["no_action"], r["breaching"]
    this_month = scoped_leads(user, sel).filter(
        status=Lead.Status.NEW,
        first_contacted_at__isnull=True,
        sla_due_at__gte=month,
        sla_due_at__lt=now,
    )
    for r in this_month.values("owner_id").annotate(n=Count("pk")).order_by():
        row_of(r["owner_id"]).breaching += r["n"]
    tasks = Task.objects.visible_to(user).open().filter(due_at__lt=now)
    if sel.owner_id is not None:
        tasks = tasks.filter(assignee_id=sel.owner_id)
    if sel.team_id is not None:
        members = Membership.objects.filter(team_id=sel.team_id).values("user_id")
        tasks = tasks.filter(assignee_id__in=members)
    for r in tasks.values("assignee_id").annotate(n=Count("pk")).order_by():
        row_of(r["assignee_id"]).overdue_tasks = r["n"]
    return sorted(rows.values(), key=lambda r: (r.id is None, r.label.lower()))
