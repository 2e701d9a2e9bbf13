"""The dashboard's small server-rendered SVG charts (no JavaScript, no CDN).

Each chart sits beside the table of its numbers (``crm.dashboards.tables``), which is what
a screen reader reads: the SVG is one labelled image. The SVG is written here, not in a
template: a year of weekly columns is 500 rectangles, and a template would also pass every
coordinate through the locale's number format (a decimal comma breaks an SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# A palette that stays apart for colour-blind readers (Okabe–Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
BAR = 22
LABEL_WIDTH = 140
WIDTH = 480
BASE = 180  # the columns' baseline


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    y: int
    width: float
    text_x: float


@dataclass(frozen=True)
class HBars:
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH
    title: str = ""  # what the image is called for a screen reader

    @property
    def is_empty(self) -> bool:
        return not any(bar.width for bar in self.bars)

    @property
    def svg(self) -> SafeString:
        bars = format_html_join(
            "\n",
            '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="currentColor">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
            '<text x="{}" y="{}" font-size="12" fill="currentColor">{}</text>',
            (
                (
                    self.label_width - 6,
                    bar.y + 15,
                    bar.label,
                    self.label_width,
                    bar.y,
                    bar.width,
                    BAR,
                    COLOURS[0],
                    bar.label,
                    bar.text,
                    bar.text_x,
                    bar.y + 15,
                    bar.text,
                )
                for bar in self.bars
            ),
        )
        return format_html(
            '<svg class="w-100 mb-2" viewBox="0 0 {} {}" role="img" '
            'aria-label="{}: chart of the table below" focusable="false">{}</svg>',
            self.width,
            self.height,
            self.title,
            bars,
        )


def hbars(title: str, rows: list[tuple[str, float | None, str]]) -> HBars:
    """One horizontal bar per (label, value, text), scaled to the largest value."""
    top = max((value or 0 for _, value, _ in rows), default=0)
    room = WIDTH - LABEL_WIDTH - 70
    bars = []
    for i, (label, value, text) in enumerate(rows):
        width = room * (value or 0) / top if top else 0.0
        bars.append(Bar(label[:22], text, i * (BAR + 6), round(width, 1), LABEL_WIDTH + width + 4))
    return HBars(bars, max(len(rows) * (BAR + 6), BAR), title=title)


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Columns:
    segments: list[Segment]
    labels: list[tuple[float, str]]
    legend: list[tuple[str, str]]
    column_width: float
    height: int = 200
    width: int = WIDTH
    title: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.segments

    @property
    def svg(self) -> SafeString:
        segments = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            ((s.x, s.y, self.column_width, s.height, s.colour, s.title) for s in self.segments),
        )
        labels = format_html_join(
            "",
            '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="currentColor">{}</text>',
            ((x, self.height - 4, text) for x, text in self.labels),
        )
        return format_html(
            '<svg class="w-100 mb-1" viewBox="0 0 {} {}" role="img" '
            'aria-label="{}: chart of the table below" focusable="false">'
            '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1"/>'
            "{}{}</svg>",
            self.width,
            self.height + 20,
            self.title,
            BASE,
            self.width,
            BASE,
            segments,
            labels,
        )


def stacked_columns(
    title: str,
    periods: list[date],
    series: list[tuple[int | None, str]],
    values: dict[tuple[date, int | None], int],
    label: str = "%d %b",
) -> Columns:
    """One column per period, stacked by series (e.g. source)."""
    height, base = 200, BASE
    totals = [sum(values.get((p, s), 0) for s, _ in series) for p in periods]
    top = max(totals, default=0)
    step = WIDTH / max(len(periods), 1)
    width = max(step * 0.7, 2)
    segments: list[Segment] = []
    labels: list[tuple[float, str]] = []
    colour_of = {sid: COLOURS[i % len(COLOURS)] for i, (sid, _) in enumerate(series)}
    every = max(1, len(periods) // 8)
    for i, period in enumerate(periods):
        y = float(base)
        for sid, name in series:
            n = values.get((period, sid), 0)
            if not n or not top:
                continue
            h = (base - 10) * n / top
            y -= h
            segments.append(
                Segment(
                    round(i * step, 1), round(y, 1), round(h, 1), colour_of[sid], f"{name}: {n}"
                )
            )
        if i % every == 0:
            labels.append((round(i * step + width / 2, 1), period.strftime(label)))
    legend = [(colour_of[sid], name) for sid, name in series]
    return Columns(segments, labels, legend, round(width, 1), height, title=title)
