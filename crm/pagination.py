"""List pages: keyset pagination and capped counts, shared by every list.

Keyset pagination keeps pages as fast at row 1,000,000 as at row 1.

A cursor is the sort key of the last (or first) row shown, so the next page is an index
range scan instead of an OFFSET that reads and discards every row before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Expression, F, Q, QuerySet, Value
from django.db.models.expressions import OrderBy


@dataclass(frozen=True)
class Sort:
    key: str
    label: str
    field: str  # the sort column; ``id`` breaks ties
    descending: bool = False
    nullable: bool = False


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != 2 or not isinstance(values[1], int):
        return None
    return values


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    sort: Sort

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _ordering(sort: Sort, reverse: bool) -> list[OrderBy]:
    descending = sort.descending != reverse
    column = F(sort.field)
    nulls = {"nulls_last": True} if sort.nullable and not reverse else {}
    if sort.nullable and reverse:
        nulls = {"nulls_first": True}
    key = column.desc(**nulls) if descending else column.asc(**nulls)
    tie = F("id").desc() if descending else F("id").asc()
    return [key, tie]


class RowCompare(Expression):
    """``(column, id) < (value, pk)``: a row comparison PostgreSQL answers with one index
    range scan, where the equivalent ``a < x OR (a = x AND id < y)`` scans more."""

    output_field = BooleanField()

    def __init__(self, field: str, value: Any, pk: int, op: str) -> None:
        super().__init__()
        self.expressions: list[Any] = [F(field), F("id"), Value(value), Value(pk)]
        self.op = op

    def get_source_expressions(self) -> list[Any]:
        return self.expressions

    def set_source_expressions(self, exprs: Any) -> None:
        self.expressions = list(exprs)

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        parts, params = [], []
        for expression in self.expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        return f"(({parts[0]}, {parts[1]}) {self.op} ({parts[2]}, {parts[3]}))", params


def _after(sort: Sort, value: Any, pk: int, reverse: bool) -> Q:
    """Rows that come after (value, pk) in the sort order (before it if ``reverse``)."""
    descending = sort.descending != reverse
    op = "lt" if descending else "gt"
    if sort.nullable:
        nulls_after = not reverse  # NULLS LAST going forward
        if value is None:
            return (
                Q(**{f"{sort.field}__isnull": True, f"id__{op}": pk})
                if nulls_after
                else (
                    Q(**{f"{sort.field}__isnull": False})
                    | Q(**{f"{sort.field}__isnull": True, f"id__{op}": pk})
                )
            )
        beyond = Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"id__{op}": pk})
        return beyond | Q(**{f"{sort.field}__isnull": True}) if nulls_after else beyond
    return Q(RowCompare(sort.field, value, pk, "<" if op == "lt" else ">"))


def _key_of(row: Any, sort: Sort) -> list[Any]:
    value = getattr(row, sort.field)
    if isinstance(value, datetime):
        value = value.isoformat()
    return [value, row.pk]


def _parse(sort: Sort, value: Any) -> Any:
    if isinstance(value, str) and sort.field.endswith(("_at", "_due")):
        return datetime.fromisoformat(value)
    return value


def keyset_page(
    queryset: QuerySet[Any],
    *,
    sort_key: str | None,
    after: str | None = None,
    before: str | None = None,
    sorts: dict[str, Sort],
    default_sort: str,
    per_page: int = 50,
) -> Page:
    sort = sorts.get(sort_key or default_sort, sorts[default_sort])
    before_key = decode_cursor(before)
    after_key = None if before_key else decode_cursor(after)
    reverse = before_key is not None
    qs = queryset.order_by(*_ordering(sort, reverse))
    cursor_key = before_key or after_key
    if cursor_key is not None:
        try:
            qs = qs.filter(_after(sort, _parse(sort, cursor_key[0]), cursor_key[1], reverse))
        except (TypeError, ValueError):
            cursor_key = None
            qs = queryset.order_by(*_ordering(sort, False))
            reverse = False
    rows = list(qs[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if reverse:
        rows.reverse()
        next_cursor = encode_cursor(_key_of(rows[-1], sort)) if rows else None
        previous_cursor = encode_cursor(_key_of(rows[0], sort)) if more and rows else None
    else:
        next_cursor = encode_cursor(_key_of(rows[-1], sort)) if more and rows else None
        previous_cursor = (
            encode_cursor(_key_of(rows[0], sort)) if cursor_key is not None and rows else None
        )
    return Page(rows=rows, next_cursor=next_cursor, previous_cursor=previous_cursor, sort=sort)


COUNT_CAP = 10_000


def capped_count(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most ``cap`` (an exact count of a million rows
    costs more than the page itself). Returns (count, more_than_cap)."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap
