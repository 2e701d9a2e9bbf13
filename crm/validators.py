"""Bounds on what the product accepts from anyone: dates, ids and text.

A date far outside any sales calendar (``0001-01-01``, ``9999-12-31T23:59``) is accepted by
Python and PostgreSQL alike, but shown in another user's time zone it overflows
(``OverflowError``), or is stored past year 10,000 and cannot be read back. Every date and
datetime a user can set is kept between 1900 and 2200: in forms (``validate_date_bounds``),
in services (``full_clean``) and in the database (``date_bounds``, a check constraint).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, overload

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2200, 12, 31)
DATETIME_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
DATETIME_MAX = dt.datetime(2200, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
DATE_OUT_OF_RANGE = "Enter a date between 1900 and 2200."

# PostgreSQL's bigint: an id outside it is no id of ours (and an error if it reaches SQL).
ID_MAX = 2**63 - 1


def date_in_bounds(value: dt.date | dt.datetime) -> bool:
    if isinstance(value, dt.datetime):
        # Aware datetimes compare as instants, without converting (which can overflow).
        aware = value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
        return DATETIME_MIN <= aware <= DATETIME_MAX
    return DATE_MIN <= value <= DATE_MAX


def validate_date_bounds(value: Any) -> None:
    """Validator for date and datetime fields (model and form)."""
    if isinstance(value, dt.date) and not date_in_bounds(value):
        raise ValidationError(DATE_OUT_OF_RANGE, code="date_out_of_range")


def date_bounds(field: str, *, is_date: bool = False) -> Q:
    """The check constraint's condition for one field (NULL passes)."""
    low, high = (DATE_MIN, DATE_MAX) if is_date else (DATETIME_MIN, DATETIME_MAX)
    return Q(**{f"{field}__gte": low, f"{field}__lte": high}) | Q(**{f"{field}__isnull": True})


def parse_id(value: Any) -> int | None:
    """An id from the query string or a form: ASCII digits within PostgreSQL's bigint, or
    None (``"²".isdigit()`` is true, but ``int("²")`` fails; ``"9" * 25`` overflows SQL)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= ID_MAX else None


def clamp_date(value: dt.datetime) -> dt.datetime:
    """A stored datetime moved inside the bounds (for the ones stored before them)."""
    return min(max(value, DATETIME_MIN), DATETIME_MAX)


@overload
def safe_localtime(value: dt.datetime) -> dt.datetime: ...
@overload
def safe_localtime(value: None) -> None: ...
def safe_localtime(value: dt.datetime | None) -> dt.datetime | None:
    """``timezone.localtime`` that never raises: an extreme that would overflow in the
    current time zone is shown in UTC instead."""
    if value is None:
        return None
    try:
        return timezone.localtime(value)
    except (OverflowError, ValueError):
        return value.astimezone(dt.UTC) if timezone.is_aware(value) else value
