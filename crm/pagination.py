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
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.db.models import (
    AutoField,
    BooleanField,
    DateField,
    DateTimeField,
    Expression,
    F,
    Field,
    GeneratedField,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import OrderBy
from django.http import HttpRequest
from django.utils import timezone

from crm.validators import ID_MAX, date_in_bounds

# What a list page says when its cursor was not valid (the first page is shown instead).
CURSOR_INVALID = "That page link was not valid; showing the first page."


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
    """The ``[sort value, id]`` a cursor holds, or None if it is not one (its types are
    checked against the sort by ``keyset_page``)."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != 2:
        return None
    pk = values[1]
    if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk <= ID_MAX:
        return None
    return values


def _cursor_value(sort: Sort, field: Field[Any, Any] | None, value: Any) -> Any:
    """The cursor's sort value as the column's type, or raise ValueError: a crafted cursor
    must never reach PostgreSQL as a type the column cannot be compared with."""
    if isinstance(field, GeneratedField):
        field = field.output_field  # compared as the type it holds
    if value is None:
        if sort.nullable:
            return None
        raise ValueError("null cursor value for a column that has none")
    if isinstance(field, DateTimeField):
        if not isinstance(value, str):
            raise ValueError("not a datetime")
        moment = datetime.fromisoformat(value)
        if timezone.is_naive(moment) or not date_in_bounds(moment):
            raise ValueError("not an aware datetime within bounds")
        return moment
    if isinstance(field, DateField):
        if not isinstance(value, str):
            raise ValueError("not a date")
        day = date.fromisoformat(value)
        if not date_in_bounds(day):
            raise ValueError("date out of bounds")
        return day
    if isinstance(field, IntegerField | AutoField):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > ID_MAX:
            raise ValueError("not an integer")
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not a string")
    return value


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    sort: Sort
    # A cursor was given but was not one of this list's (tampered with, or from another
    # sort): the first page is shown instead, and the view says so.
    cursor_invalid: bool = False

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
    given = before or after
    cursor_key = decode_cursor(before) if before else decode_cursor(after)
    reverse = bool(before) and cursor_key is not None
    value: Any = None
    if cursor_key is not None:
        try:
            field = queryset.model._meta.get_field(sort.field)
        except FieldDoesNotExist:
            field = None
        try:
            value = _cursor_value(sort, field, cursor_key[0])
        except (TypeError, ValueError):
            cursor_key, reverse = None, False
    qs = queryset.order_by(*_ordering(sort, reverse))
    if cursor_key is not None:
        qs = qs.filter(_after(sort, value, cursor_key[1], reverse))
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
    return Page(
        rows=rows,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        sort=sort,
        cursor_invalid=bool(given) and cursor_key is None,
    )


COUNT_CAP = 10_000


def capped_count(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most ``cap`` (an exact count of a million rows
    costs more than the page itself). Returns (count, more_than_cap)."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


def warn_if_cursor_invalid(request: HttpRequest, page: Page) -> None:
    """Tell the user their page link was not valid (the first page is shown)."""
    if page.cursor_invalid:
        messages.warning(request, CURSOR_INVALID)
