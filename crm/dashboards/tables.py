"""The dashboard's tables: what the page shows beside each chart, what ``?csv=`` exports,
and where every number links (the filtered list behind it, with the same count)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from crm.dashboards.deals import DealFigures
from crm.dashboards.selectors import Counts, LeadFigures, Selection
from leads.models import Lead


@dataclass(frozen=True)
class Cell:
    value: Any
    href: str = ""
    text: str = ""  # how the page shows it, when not the plain value (rates, durations)

    def __str__(self) -> str:
        return self.text or ("" if self.value is None else str(self.value))


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    @property
    def body(self) -> SafeString:
        """The rows as HTML: the first cell heads its row, a number with a list behind it
        links there. Built here rather than cell by cell in the template: a year's tables
        hold 1,400 cells, and the template engine took 30 ms over them."""
        if not self.rows:
            return format_html(
                '<tr><td colspan="{}" class="text-body-secondary">Nothing in this range.</td></tr>',
                len(self.columns),
            )
        return format_html_join("\n", "<tr>{}</tr>", ((_cells(row),) for row in self.rows))


def _cells(row: list[Cell]) -> SafeString:
    head, *rest = row
    return format_html(
        '<th scope="row">{}</th>{}',
        head,
        format_html_join(
            "",
            '<td class="text-end">{}</td>',
            (
                (format_html('<a href="{}">{}</a>', cell.href, cell) if cell.href else cell,)
                for cell in rest
            ),
        ),
    )


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def minutes(value: float | None) -> str:
    if value is None:
        return "–"
    if value == -1:
        return "a week or more"
    if value < 60:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"


def upto(value: int | None) -> str:
    if value is None:
        return "–"
    return "a week or more" if value == -1 else f"≤ {minutes(value)}"


class Links:
    """Lead, deal and task list URLs for the page's selection."""

    def __init__(self, sel: Selection, user_id: int) -> None:
        self.sel = sel
        self.user_id = user_id
        # Looked up once: a year's page makes 700 links.
        self.lead_list = reverse("leads:list")
        self.deal_list = reverse("deals:list")
        self.task_list = reverse("tasks:list")

    def within(self, sel: Selection) -> Links:
        """The same links for another selection (one period of the page's range)."""
        other = copy.copy(self)
        other.sel = sel
        return other

    def _owner(self, owner_id: int | None) -> str | None:
        if owner_id is None:
            return None
        if owner_id == 0:
            return "none"
        # The lead and deal lists spell the user themself as "me".
        return "me" if owner_id == self.user_id else str(owner_id)

    def leads(self, *, owner: Any = "sel", source: Any = "sel", **extra: Any) -> str:
        sel = self.sel
        params: list[tuple[str, str]] = [
            ("created_after", sel.start.isoformat()),
            ("created_before", sel.end.isoformat()),
        ]
        if sel.team_id is not None:
            params.append(("team", str(sel.team_id)))
        owner_id = sel.owner_id if owner == "sel" else (0 if owner is None else owner)
        if self._owner(owner_id):
            params.append(("owner", self._owner(owner_id) or ""))
        source_id = sel.source_id if source == "sel" else source
        if source == "none":
            params.append(("no_source", "1"))
        elif source_id is not None:
            params.append(("source", str(source_id)))
        for key, value in extra.items():
            for one in value if isinstance(value, list) else [value]:
                params.append((key, str(one)))
        return f"{self.lead_list}?{urlencode(params)}"

    def current(self, *, owner: int | None, **extra: Any) -> str:
        """Lead list of the current state (no date range)."""
        sel = self.sel
        params: list[tuple[str, str]] = []
        if sel.team_id is not None:
            params.append(("team", str(sel.team_id)))
        params.append(("owner", self._owner(0 if owner is None else owner) or ""))
        if sel.source_id is not None:
            params.append(("source", str(sel.source_id)))
        params += [(k, str(v)) for k, v in extra.items()]
        return f"{self.lead_list}?{urlencode(params)}"

    def tasks(self, *, owner: int | None) -> str:
        who = "me" if owner == self.user_id else str(owner)
        return f"{self.task_list}?{urlencode({'show': 'overdue', 'who': who})}"

    def deals(
        self, *, owner: Any = "sel", source: Any = "sel", closed: bool = True, **extra: Any
    ) -> str:
        sel = self.sel
        params: list[tuple[str, str]] = []
        if closed:
            params += [("closed_from", sel.start.isoformat()), ("closed_to", sel.end.isoformat())]
        if sel.team_id is not None:
            params.append(("team", str(sel.team_id)))
        owner_id = sel.owner_id if owner == "sel" else (0 if owner is None else owner)
        if self._owner(owner_id):
            params.append(("owner", self._owner(owner_id) or ""))
        source_id = sel.source_id if source == "sel" else source
        if source_id is not None:
            params.append(("source", str(source_id)))
        params += [(k, str(v)) for k, v in extra.items()]
        return f"{self.deal_list}?{urlencode(params)}"


def _source_arg(pk: int | None) -> Any:
    return "none" if pk is None else pk


def lead_tables(figures: LeadFigures, links: Links, sel: Selection) -> dict[str, Table]:
    t = figures.total
    tables: dict[str, Table] = {}

    volume = Table("volume", f"Lead volume by source, by {sel.period}", ["Source"])
    volume.columns += [_period_label(p, sel.period) for p in figures.periods] + ["Total"]
    for row in figures.volume_sources:
        cells = [Cell(row.label)]
        for period in figures.periods:
            n = figures.volume.get((period, row.id), 0)
            cells.append(Cell(n, _period_link(links, period, sel, row.id) if n else ""))
        cells.append(Cell(row.counts.leads, links.leads(source=_source_arg(row.id))))
        volume.rows.append(cells)
    tables["volume"] = volume

    funnel = Table("funnel", "Funnel", ["Step", "Leads", "Drop-off from the step before"])
    steps = [
        ("Created", t.leads, links.leads()),
        ("Contacted", t.reached_contacted, links.leads(reached="contacted")),
        ("Qualified", t.reached_qualified, links.leads(reached="qualified")),
        ("Converted", t.s_converted, links.leads(status="converted")),
    ]
    before = None
    for label, n, href in steps:
        drop = "" if before is None else str(before - n)
        funnel.rows.append([Cell(label), Cell(n, href), Cell(drop)])
        before = n
    tables["funnel"] = funnel

    outcomes = Table("outcomes", "Closed without a deal", ["Outcome", "Leads"])
    for status, n in [("lost", t.s_lost), ("unqualified", t.s_unqualified), ("junk", t.s_junk)]:
        outcomes.rows.append([Cell(Lead.Status(status).label), Cell(n, links.leads(status=status))])
    tables["outcomes"] = outcomes

    reps = Table(
        "reps",
        "Per rep",
        ["Rep", "Leads", "Converted", "Conversion rate", "Qualified", "Qualification rate"],
    )
    for row in figures.by_owner:
        c = row.counts
        reps.rows.append(
            [
                Cell(row.label),
                Cell(c.leads, links.leads(owner=row.id)),
                Cell(c.s_converted, links.leads(owner=row.id, status="converted")),
                Cell(c.conversion_rate, text=percent(c.conversion_rate)),
                Cell(c.reached_qualified, links.leads(owner=row.id, reached="qualified")),
                Cell(c.qualification_rate, text=percent(c.qualification_rate)),
            ]
        )
    _total_row(reps, t, links)
    tables["reps"] = reps

    sources = Table("sources", "Per source", ["Source", "Leads", "Converted", "Conversion rate"])
    for row in figures.by_source:
        c = row.counts
        arg = _source_arg(row.id)
        sources.rows.append(
            [
                Cell(row.label),
                Cell(c.leads, links.leads(source=arg)),
                Cell(c.s_converted, links.leads(source=arg, status="converted")),
                Cell(c.conversion_rate, text=percent(c.conversion_rate)),
            ]
        )
    tables["sources"] = sources

    response = Table(
        "response",
        "First response time",
        ["Rep", "Answered", "Average", "Median", "90th percentile", "Within target", "Share"],
        note="Median and 90th percentile are read off a histogram: the bucket they fall in.",
    )
    for label, owner, c in [
        *((r.label, r.id, r.counts) for r in figures.by_owner),
        ("All", "sel", t),
    ]:
        response.rows.append(
            [
                Cell(label),
                Cell(c.responded, links.leads(owner=owner, reached="contacted")),
                Cell(c.average_minutes, text=minutes(c.average_minutes)),
                Cell(c.median_minutes, text=upto(c.median_minutes)),
                Cell(c.p90_minutes, text=upto(c.p90_minutes)),
                Cell(c.within_target, links.leads(owner=owner, response="within")),
                Cell(c.within_share, text=percent(c.within_share)),
            ]
        )
    tables["response"] = response

    reasons = Table("reasons", "Lost and unqualified reasons", ["Outcome", "Reason", "Leads"])
    for r in figures.reasons:
        href = links.leads(status=r.status, lost_reason="none" if r.id is None else r.id)
        reasons.rows.append([Cell(Lead.Status(r.status).label), Cell(r.label), Cell(r.count, href)])
    tables["reasons"] = reasons

    now = Table(
        "attention",
        "Needs attention now",
        ["Rep", "Overdue follow-ups", "No next action", "Past the response target"],
        note="The current state, whatever the dates above.",
    )
    for cur in figures.current:
        now.rows.append(
            [
                Cell(cur.label),
                Cell(
                    cur.overdue_tasks,
                    links.tasks(owner=cur.id) if cur.overdue_tasks and cur.id else "",
                ),
                Cell(
                    cur.no_action,
                    links.current(owner=cur.id, due="missing") if cur.no_action else "",
                ),
                Cell(
                    cur.breaching,
                    links.current(owner=cur.id, sla="breached") if cur.breaching else "",
                ),
            ]
        )
    tables["attention"] = now
    return tables


def _total_row(table: Table, t: Counts, links: Links) -> None:
    table.rows.append(
        [
            Cell("All"),
            Cell(t.leads, links.leads()),
            Cell(t.s_converted, links.leads(status="converted")),
            Cell(t.conversion_rate, text=percent(t.conversion_rate)),
            Cell(t.reached_qualified, links.leads(reached="qualified")),
            Cell(t.qualification_rate, text=percent(t.qualification_rate)),
        ]
    )


def _period_label(period: date, kind: str) -> str:
    return period.strftime("%b %Y") if kind == "month" else f"Week of {period:%d %b}"


def _period_link(links: Links, period: date, sel: Selection, source: int | None) -> str:
    narrowed = replace(
        sel, start=max(period, sel.start), end=min(_period_end(period, sel.period), sel.end)
    )
    return links.within(narrowed).leads(source=_source_arg(source))


def _period_end(period: date, kind: str) -> date:
    if kind == "week":
        return period + timedelta(days=6)
    nxt = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def money(value: Any) -> str:
    return "–" if value is None else f"{value:,.2f}"


def days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def deal_tables(figures: DealFigures, links: Links) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    win = Table("win_reps", "Win rate per rep", ["Rep", "Won", "Closed", "Win rate"])
    for r in figures.win_rate_by_owner:
        win.rows.append(
            [
                Cell(r.label),
                Cell(r.won, links.deals(owner=r.id, state="won")),
                Cell(r.closed, links.deals(owner=r.id, state="closed")),
                Cell(r.rate, text=percent(r.rate)),
            ]
        )
    win.rows.append(
        [
            Cell("All"),
            Cell(figures.won, links.deals(state="won")),
            Cell(figures.won + figures.lost, links.deals(state="closed")),
            Cell(figures.win_rate, text=percent(figures.win_rate)),
        ]
    )
    tables["win_reps"] = win
    win_src = Table("win_sources", "Win rate per source", ["Source", "Won", "Closed", "Win rate"])
    for r in figures.win_rate_by_source:
        win_src.rows.append(
            [
                Cell(r.label),
                Cell(r.won, links.deals(source=r.id, state="won") if r.id else ""),
                Cell(r.closed, links.deals(source=r.id, state="closed") if r.id else ""),
                Cell(r.rate, text=percent(r.rate)),
            ]
        )
    tables["win_sources"] = win_src
    lost = Table("deal_reasons", "Lost reasons for deals", ["Reason", "Deals"])
    for lr in figures.lost_reasons:
        lost.rows.append(
            [
                Cell(lr.label),
                Cell(lr.count, links.deals(state="lost", lost_reason=lr.id) if lr.id else ""),
            ]
        )
    tables["deal_reasons"] = lost
    cycle = Table(
        "cycle", "Sales cycle (days)", ["Measure", "Deals", "Median", "25th", "75th", "90th"]
    )
    if figures.cycle:
        c = figures.cycle
        cycle.rows.append(
            [
                Cell("Lead created → deal won"),
                Cell(c.n, links.deals(state="won")),
                Cell(c.median, text=days(c.median)),
                Cell(c.p25, text=days(c.p25)),
                Cell(c.p75, text=days(c.p75)),
                Cell(c.p90, text=days(c.p90)),
            ]
        )
    for s in figures.stage_times:
        cycle.rows.append(
            [
                Cell(f"In {s.stage}"),
                Cell(s.n),
                Cell(s.median, text=days(s.median)),
                Cell(s.p25, text=days(s.p25)),
                Cell(s.p75, text=days(s.p75)),
                Cell(None),
            ]
        )
    tables["cycle"] = cycle
    pipe = Table(
        "pipeline", "Open pipeline by stage", ["Stage", "Currency", "Deals", "Value", "Weighted"]
    )
    for p in figures.pipeline:
        pipe.rows.append(
            [
                Cell(p.stage),
                Cell(p.currency),
                Cell(
                    p.count,
                    links.deals(closed=False, state="open", stage=p.stage_id, currency=p.currency),
                ),
                Cell(p.value, text=money(p.value)),
                Cell(p.weighted, text=money(p.weighted)),
            ]
        )
    tables["pipeline"] = pipe
    fc = Table(
        "forecast",
        "Weighted forecast by close month",
        ["Month", "Currency", "Deals", "Value", "Weighted"],
    )
    for m in figures.forecast:
        fc.rows.append(
            [
                Cell(m.month.strftime("%Y-%m")),
                Cell(m.currency),
                Cell(
                    m.count,
                    links.deals(
                        closed=False,
                        state="open",
                        close_month=m.month.strftime("%Y-%m"),
                        currency=m.currency,
                    ),
                ),
                Cell(m.value, text=money(m.value)),
                Cell(m.weighted, text=money(m.weighted)),
            ]
        )
    for u in figures.forecast_undated:
        fc.rows.append(
            [
                Cell("No close date"),
                Cell(u.currency),
                Cell(
                    u.count,
                    links.deals(closed=False, state="open", no_close_date=1, currency=u.currency),
                ),
                Cell(u.value, text=money(u.value)),
                Cell(None, text="–"),
            ]
        )
    tables["forecast"] = fc
    size = Table("deal_size", "Average deal size (won)", ["Currency", "Deals", "Average", "Total"])
    for d in figures.deal_size:
        size.rows.append(
            [
                Cell(d.currency),
                Cell(d.count, links.deals(state="won", currency=d.currency)),
                Cell(d.average, text=money(d.average)),
                Cell(d.total, text=money(d.total)),
            ]
        )
    tables["deal_size"] = size
    return tables


def all_rows(tables: Iterable[Table]) -> int:
    return sum(len(t.rows) for t in tables)
