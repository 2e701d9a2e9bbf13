"""CSV download of any dashboard table: the same rows the page shows, raw values."""

from __future__ import annotations

import csv

from django.http import HttpResponse

from crm.dashboards.selectors import Selection
from crm.dashboards.tables import Table


def _safe(value: object) -> object:
    # A label starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def table_csv(table: Table, sel: Selection) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"dashboard-{table.name}-{sel.start:%Y%m%d}-{sel.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_safe(cell.value) for cell in row])
    return response
