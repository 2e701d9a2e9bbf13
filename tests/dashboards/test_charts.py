"""The dashboard's SVG charts: one shape per number, names escaped, coordinates written
as SVG reads them whatever the page's language (no decimal commas)."""

from __future__ import annotations

import re
from datetime import date

from django.utils import translation

from crm.dashboards import charts


def test_stacked_columns_draw_one_rectangle_per_non_zero_number() -> None:
    weeks = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    series = [(1, "Web <form>"), (None, "No source")]
    values = {(weeks[0], 1): 3, (weeks[0], None): 1, (weeks[2], 1): 2}
    chart = charts.stacked_columns("Lead volume", weeks, series, values)
    svg = str(chart.svg)
    assert svg.count("<rect") == 3
    assert "<title>Web &lt;form&gt;: 3</title>" in svg
    assert "<title>No source: 1</title>" in svg
    assert 'aria-label="Lead volume: chart of the table below"' in svg
    # The tallest column (4 leads) reaches 10 units under the top; its two parts stack.
    heights = sorted(float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg))
    assert heights == [42.5, 85.0, 127.5]


def test_bars_scale_to_the_largest_and_keep_their_text() -> None:
    chart = charts.hbars("Funnel", [("Created", 10, "10"), ("Contacted", 5, "5"), ("Lost", 0, "0")])
    svg = str(chart.svg)
    widths = re.findall(r'<rect x="140" y="\d+" width="([\d.]+)"', svg)
    assert [float(w) for w in widths] == [270.0, 135.0, 0.0]
    assert "<title>Contacted: 5</title>" in svg


def test_coordinates_stay_svg_numbers_in_a_decimal_comma_language(settings) -> None:
    settings.USE_THOUSAND_SEPARATOR = True
    chart = charts.hbars("Win rate", [("Ann", 0.333, "33%"), ("Bo", 1.0, "100%")])
    with translation.override("de"):
        svg = str(chart.svg)
    assert re.search(r'width="\d+\.\d"', svg)
    assert not re.search(r'(x|y|width|height)="[\d.]*,', svg)
