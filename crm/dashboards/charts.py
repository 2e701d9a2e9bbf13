"""Geometry for the dashboard's small server-rendered SVG charts (no JavaScript, no CDN).

The templates draw what these return; each chart sits beside the table of its numbers
(``crm.dashboards.tables``), which is what a screen reader reads (the SVG is hidden)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# A palette that stays apart for colour-blind readers (Okabe–Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
BAR = 22
LABEL_WIDTH = 140
WIDTH = 480


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

    @property
    def is_empty(self) -> bool:
        return not any(bar.width for bar in self.bars)


def hbars(rows: list[tuple[str, float | None, str]]) -> HBars:
    """One horizontal bar per (label, value, text), scaled to the largest value."""
    top = max((value or 0 for _, value, _ in rows), default=0)
    room = WIDTH - LABEL_WIDTH - 70
    bars = []
    for i, (label, value, text) in enumerate(rows):
        width = room * (value or 0) / top if top else 0.0
        bars.append(Bar(label[:22], text, i * (BAR + 6), round(width, 1), LABEL_WIDTH + width + 4))
    return HBars(bars, max(len(rows) * (BAR + 6), BAR))


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

    @property
    def is_empty(self) -> bool:
        return not self.segments


def stacked_columns(
    periods: list[date],
    series: list[tuple[int | None, str]],
    values: dict[tuple[date, int | None], int],
    label: str = "%d %b",
) -> Columns:
    """One column per period, stacked by series (e.g. source)."""
    height, base = 200, 180
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
    return Columns(segments, labels, legend, round(width, 1), height)
