"""What the home page reads: each block is one query, started from the records'
``visible_to(viewer)`` and narrowed to the person in focus, so the page costs the same few
queries whatever the numbers (counts ride along as window functions or aggregates).

Whose day it is (``Focus``): a rep's own; for a manager their team (everything their
``visible_to`` allows, the team's unassigned pool included) or one person of it; for an
admin everyone or one person. One person means the records they own or are assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, DateField, F, Q, Sum, Value, Window
from django.db.models.functions import TruncMonth
from django.utils.formats import number_format

from accounts.models import User
from crm.followups.models import Task
from deals.models import Deal, Stage
from deals.selectors import weighted_value
from leads.models import Lead, format_minutes

# Each list shows at most this many; the block's counts and its link say how many in all.
TASK_LIMIT = 15
LEAD_LIMIT = 8
# The counts beside a list stop at this many ("500+"): counting every one of 160,000
# waiting leads to print a number nobody reads cost ~350 ms at 1M leads; the first 500 in
# the list's own order come off its index in a few ms (and, that order being oldest first,
# the overdue ones among them are counted exactly up to the cap). The tasks page's tabs
# and the lead list count exactly, for whoever follows the link.
COUNT_CAP = 500

LEAD_COLUMNS = [
    "id",
    "number",
    "first_name",
    "last_name",
    "company",
    "status",
    "rate",
    "score",
    "created_at",
    "sla_due_at",
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
]


@dataclass(frozen=True)
class Focus:
    """Whose day the page shows: ``person``'s, or (None) everyone ``viewer`` sees.
    ``people`` is who the viewer may switch to (empty for a rep, who sees only their own)."""

    viewer: User
    person: User | None
    people: list[User] = field(default_factory=list)

    @property
    def is_own(self) -> bool:
        return self.person is not None and self.person.pk == self.viewer.pk

    def narrow(self, field_name: str) -> Q:
        """Within what ``visible_to`` allows: nothing more for the team, else one person."""
        if self.person is None:
            return Q()
        return Q(**{field_name: self.person.pk})

    @property
    def who(self) -> str:
        """The tasks page's ``who`` for the same people."""
        if self.person is None:
            return "team"
        return "me" if self.is_own else str(self.person.pk)

    @property
    def owner(self) -> str:
        """The lead and deal lists' ``owner`` for the same people ("" is anyone visible)."""
        if self.person is None:
            return ""
        return "me" if self.is_own else str(self.person.pk)


# --- Follow-ups ------------------------------------------------------------------------------


def capped(count: int, cap: int, *, reached: bool) -> str:
    """``count`` for people: "1,000+" once the cap was reached (there may be more)."""
    text = number_format(count, force_grouping=True)
    return f"{text}+" if reached or count >= cap else text


@dataclass
class TaskBlock:
    tasks: list[Task]
    overdue: int  # due before now
    later_today: int  # due from now to the end of the (local) day
    cap: int = COUNT_CAP

    @property
    def total(self) -> int:
        return self.overdue + self.later_today

    @property
    def more(self) -> int:
        return self.total - len(self.tasks)

    @property
    def overdue_label(self) -> str:
        return capped(self.overdue, self.cap, reached=False)

    @property
    def later_today_label(self) -> str:
        return capped(self.later_today, self.cap, reached=self.total >= self.cap)


def tasks_due(focus: Focus, *, now: datetime, day_end: datetime) -> TaskBlock:
    """Open tasks due before the end of today, oldest first, with how many are overdue and
    how many are still to come today (up to ``COUNT_CAP``), in one query."""
    due = (
        Task.objects.visible_to(focus.viewer)
        .open()
        .filter(focus.narrow("assignee_id"), due_at__lt=day_end)
        .order_by("due_at", "id")
    )
    cap = COUNT_CAP
    rows = list(
        Task.objects.visible_to(focus.viewer)
        .filter(pk__in=due.values("pk")[:cap])
        .for_list()
        .select_related("done_by")
        .annotate(
            due_total=Window(Count("id")),
            overdue_total=Window(Count("id", filter=Q(due_at__lt=now))),
        )
        .order_by("due_at", "id")[:TASK_LIMIT]
    )
    if not rows:
        return TaskBlock(tasks=[], overdue=0, later_today=0, cap=cap)
    first: Any = rows[0]
    return TaskBlock(
        tasks=rows,
        overdue=first.overdue_total,
        later_today=first.due_total - first.overdue_total,
        cap=cap,
    )


# --- Leads -----------------------------------------------------------------------------------


@dataclass
class WaitingBlock:
    leads: list[Lead]
    total: int
    breached: int  # past their contact-by time
    cap: int = COUNT_CAP

    @property
    def more(self) -> int:
        return self.total - len(self.leads)

    @property
    def total_label(self) -> str:
        return capped(self.total, self.cap, reached=False)

    @property
    def breached_label(self) -> str:
        return capped(self.breached, self.cap, reached=False)


def leads_waiting(focus: Focus, *, now: datetime) -> WaitingBlock:
    """New leads nobody has contacted yet, the one closest to (or furthest past) its
    contact-by time first, with how many wait and how many are late (up to ``COUNT_CAP``),
    in one query."""
    order = (F("sla_due_at").asc(nulls_last=True), "id")
    waiting = (
        Lead.objects.visible_to(focus.viewer)
        .filter(focus.narrow("owner_id"), status=Lead.Status.NEW, first_contacted_at__isnull=True)
        .order_by(*order)
    )
    cap = COUNT_CAP
    rows = list(
        Lead.objects.visible_to(focus.viewer)
        .filter(pk__in=waiting.values("pk")[:cap])
        .select_related("owner")
        .only(*LEAD_COLUMNS)
        .annotate(
            waiting_total=Window(Count("id")),
            breached_total=Window(Count("id", filter=Q(sla_due_at__lt=now))),
        )
        .order_by(*order)[:LEAD_LIMIT]
    )
    if not rows:
        return WaitingBlock(leads=[], total=0, breached=0, cap=cap)
    first: Any = rows[0]
    return WaitingBlock(
        leads=rows, total=first.waiting_total, breached=first.breached_total, cap=cap
    )


def hottest_leads(focus: Focus) -> list[Lead]:
    """Open leads with the highest score; never-scored leads say nothing, so they are left out.

    Ordered as the list's ``sort=-score`` is, so ``lead_score_desc_idx`` serves both."""
    return list(
        Lead.objects.visible_to(focus.viewer)
        .open()
        .filter(focus.narrow("owner_id"), score_rank__isnull=False)
        .select_related("owner")
        .only(*LEAD_COLUMNS)
        .order_by(F("score_rank").desc(nulls_last=True), "-id")[:LEAD_LIMIT]
    )


# --- Pipeline, forecast and deals won ------------------------------------------------------


@dataclass
class MonthForecast:
    month: date
    count: int
    value: Decimal
    weighted: Decimal


@dataclass
class CurrencyPipeline:
    """One currency's open deals and deals won this month: amounts in different currencies
    are never added together."""

    currency: str
    count: int = 0
    value: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    months: list[MonthForecast] = field(default_factory=list)  # this month on
    past_close: int = 0  # open, but the expected close month has passed
    undated: int = 0  # open, no expected close date
    won_count: int = 0
    won_value: Decimal = Decimal("0")


@dataclass
class Pipeline:
    currencies: list[CurrencyPipeline]

    @property
    def open_count(self) -> int:
        return sum(entry.count for entry in self.currencies)

    @property
    def won_count(self) -> int:
        return sum(entry.won_count for entry in self.currencies)

    @property
    def won(self) -> list[CurrencyPipeline]:
        return [entry for entry in self.currencies if entry.won_count]

    @property
    def open(self) -> list[CurrencyPipeline]:
        return [entry for entry in self.currencies if entry.count]


def pipeline(focus: Focus, *, month_start: date, month_end: datetime, since: datetime) -> Pipeline:
    """Open deals by expected close month and currency, and deals won this month by
    currency: two groupings joined with UNION ALL, one query. Open deals are the ones
    without ``closed_at`` (so the partial ``deal_open_pipeline_idx`` serves them), won ones
    are read through ``deal_closed_totals_idx``."""
    deals = Deal.objects.visible_to(focus.viewer).filter(focus.narrow("owner_id")).order_by()
    open_rows = (
        deals.filter(closed_at__isnull=True, stage__kind=Stage.Kind.OPEN)
        .annotate(kind=Value("open"), month=TruncMonth("expected_close_date"))
        .values("kind", "month", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum(weighted_value()))
    )
    won_rows = (
        deals.filter(closed_at__gte=since, closed_at__lt=month_end, stage__kind=Stage.Kind.WON)
        .annotate(kind=Value("won"), month=Value(None, output_field=DateField()))
        .values("kind", "month", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum("value"))
    )
    found: dict[str, CurrencyPipeline] = {}
    for row in open_rows.union(won_rows, all=True):
        entry = found.setdefault(row["currency"], CurrencyPipeline(currency=row["currency"]))
        total = row["total"] or Decimal("0")
        if row["kind"] == "won":
            entry.won_count += row["count"]
            entry.won_value += total
            continue
        weighted = (row["weighted"] or Decimal("0")).quantize(Decimal("0.01"))
        entry.count += row["count"]
        entry.value += total
        entry.weighted += weighted
        month = row["month"]
        if month is None:
            entry.undated += row["count"]
        elif month < month_start:
            entry.past_close += row["count"]
        else:
            entry.months.append(MonthForecast(month, row["count"], total, weighted))
    default = settings.DEFAULT_CURRENCY
    currencies = sorted(found.values(), key=lambda e: (e.currency != default, e.currency))
    for entry in currencies:
        entry.months.sort(key=lambda m: m.month)
    return Pipeline(currencies=currencies)


# --- The month in numbers ----------------------------------------------------------------


@dataclass
class MonthNumbers:
    start: date  # the first of the (local) month
    contacted: int
    qualified: int
    within_target: int  # of those contacted: contacted by their contact-by time
    average_response: timedelta | None

    @property
    def within_target_percent(self) -> int | None:
        if not self.contacted:
            return None
        return round(100 * self.within_target / self.contacted)

    @property
    def average_response_label(self) -> str:
        if self.average_response is None:
            return ""
        return format_minutes(max(0, round(self.average_response.total_seconds() / 60)))


def month_numbers(focus: Focus, *, month_start: date, since: datetime) -> MonthNumbers:
    """Leads first contacted and leads qualified since the start of the month, the average
    first response time of those contacted and how many within the target: one aggregate."""
    contacted = Q(first_contacted_at__gte=since)
    numbers = (
        Lead.objects.visible_to(focus.viewer)
        .filter(focus.narrow("owner_id"))
        # Redundant but cheap: a first contact or a qualification is a change through the
        # services, which stamp ``last_activity_at``, so every lead counted here was active
        # this month, and lead_last_activity_idx finds those without reading 1M leads
        # (neither timestamp has an index of its own: 250-370 ms → see the report).
        .filter(last_activity_at__gte=since)
        .filter(contacted | Q(qualified_at__gte=since))
        .aggregate(
            contacted=Count("id", filter=contacted),
            qualified=Count("id", filter=Q(qualified_at__gte=since)),
            within=Count("id", filter=contacted & Q(first_contacted_at__lte=F("sla_due_at"))),
            response=Avg("first_response_time", filter=contacted),
        )
    )
    return MonthNumbers(
        start=month_start,
        contacted=numbers["contacted"],
        qualified=numbers["qualified"],
        within_target=numbers["within"],
        average_response=numbers["response"],
    )
