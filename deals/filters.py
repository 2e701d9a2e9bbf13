"""The deal list's filters. The dashboard's deal figures (``crm.dashboards.deals``) link
here with these parameter names, so that a number and the list behind it count the same
deals: ``state``, ``closed_from``, ``closed_to``, ``owner``, ``team``, ``source``,
``lost_reason``, ``currency``, ``stage``, ``close_month``, ``no_close_date``.

A value the list cannot read (a bad date, an id that is not one, a month like 2025-13)
is a message beside the filters and an empty list, never every deal and never a 500."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from crm.validators import DATE_MAX, date_in_bounds, parse_id, validate_date_bounds
from deals.models import Deal, Stage
from leads.selectors import Choices

STATE_CHOICES = [
    ("open", "Open"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("closed", "Closed (won or lost)"),
]
CLOSED_KINDS = [Stage.Kind.WON, Stage.Kind.LOST]
BAD_MONTH = "Enter a month as YYYY-MM, e.g. 2026-03."
BAD_CURRENCY = "Enter a currency as its three-letter code, e.g. EUR."
CLOSED_RANGE_BACKWARDS = "“Closed from” must be on or before “Closed to”."
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def parse_month(value: str) -> date:
    """``YYYY-MM`` as the first day of that month, within the dates a deal can have."""
    match = _MONTH.match(value.strip())
    try:
        start = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        start = None
    if start is None or not date_in_bounds(start):
        raise ValidationError(BAD_MONTH, code="bad_month")
    return start


def _validate_currency(value: str) -> None:
    if not _CURRENCY.match(value.strip()):
        raise ValidationError(BAD_CURRENCY, code="bad_currency")


def start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in the current (the user's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def end_of_day(day: date) -> datetime:
    """The instant the day after ``day`` starts (exclusive), in the user's time zone."""
    if day >= DATE_MAX:
        return timezone.make_aware(datetime.combine(day, time.max))
    return start_of_day(day + timedelta(days=1))


class DealFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("closed_from"), data.get("closed_to")
        if low and high and low > high:
            raise ValidationError(CLOSED_RANGE_BACKWARDS, code="closed_range_backwards")
        return data


class DealFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    state = django_filters.ChoiceFilter(
        choices=STATE_CHOICES,
        method="filter_state",
        label="Open / won / lost",
        empty_label="Any",
    )
    stage = django_filters.ChoiceFilter(field_name="stage_id", empty_label="Any stage")
    owner = django_filters.ChoiceFilter(method="filter_owner", empty_label="Anyone")
    team = django_filters.ChoiceFilter(field_name="team_id", empty_label="Any team")
    source = django_filters.ChoiceFilter(
        field_name="source_lead__source_id", label="Lead source", empty_label="Any source"
    )
    lost_reason = django_filters.ChoiceFilter(
        field_name="lost_reason_id", label="Lost reason", empty_label="Any reason"
    )
    currency = django_filters.CharFilter(
        method="filter_currency", validators=[_validate_currency], label="Currency"
    )
    closed_from = django_filters.DateFilter(
        method="filter_closed_from",
        validators=[validate_date_bounds],
        label="Closed from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    closed_to = django_filters.DateFilter(
        method="filter_closed_to",
        validators=[validate_date_bounds],
        label="Closed until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    close_month = django_filters.CharFilter(
        method="filter_close_month",
        validators=[parse_month],
        label="Closing in",
        widget=forms.TextInput(attrs={"type": "month"}),
    )
    no_close_date = django_filters.ChoiceFilter(
        choices=[("1", "No close date")],
        method="filter_no_close_date",
        label="Close date",
        empty_label="Any",
    )
    value_min = django_filters.NumberFilter(
        field_name="value", lookup_expr="gte", label="Value from"
    )
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte", label="Value to")

    class Meta:
        model = Deal
        fields: list[str] = []
        form = DealFilterForm

    def __init__(self, *args: Any, user: User, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # Every stage, inactive ones too: open deals can still sit in a retired column,
        # and the dashboard's pipeline links to them.
        self.filters["stage"].extra["choices"] = [
            (str(stage.pk), stage.name if stage.is_active else f"{stage.name} (retired)")
            for stage in Stage.objects.all()
        ]
        self.filters["owner"].extra["choices"] = [
            ("me", "Me"),
            ("none", "No owner"),
            *[(str(pk), label) for pk, label in choices.owners if pk != user.pk],
        ]
        self.filters["team"].extra["choices"] = [(str(pk), label) for pk, label in choices.teams]
        self.filters["source"].extra["choices"] = [
            (str(pk), label) for pk, label in choices.sources
        ]
        self.filters["lost_reason"].extra["choices"] = [
            (str(pk), label) for pk, label in choices.lost_reasons
        ]
        # The pickers offer active people, sources and reasons; a dashboard figure can
        # still name a deactivated one (its deals stay). Any well-formed id is accepted:
        # the list is scoped by visible_to, so an id only ever narrows what one may see.
        for name in ("owner", "source", "lost_reason"):
            value = self.data.get(name) if self.data else None
            known = {key for key, _ in self.filters[name].extra["choices"]}
            if parse_id(value) is not None and value not in known:
                self.filters[name].extra["choices"].append((value, f"#{value} (inactive)"))

    @property
    def qs(self) -> Any:
        # django-filter drops an invalid value and filters by the rest, which would show
        # more deals than the link meant; an invalid filter shows none and says why.
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return super().qs

    def filter_search(self, queryset: Any, name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(company__name__icontains=value))

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        if value == "closed":
            return queryset.filter(stage__kind__in=CLOSED_KINDS)
        return queryset.filter(stage__kind=value)

    def filter_owner(self, queryset: Any, name: str, value: str) -> Any:
        if value == "me":
            return queryset.filter(owner=self.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value))

    def filter_currency(self, queryset: Any, name: str, value: str) -> Any:
        value = value.strip()
        return queryset.filter(currency=value.upper()) if value else queryset

    def filter_closed_from(self, queryset: Any, name: str, value: date) -> Any:
        return queryset.filter(closed_at__gte=start_of_day(value))

    def filter_closed_to(self, queryset: Any, name: str, value: date) -> Any:
        return queryset.filter(closed_at__lt=end_of_day(value))

    def filter_close_month(self, queryset: Any, name: str, value: str) -> Any:
        if not value.strip():
            return queryset
        start = parse_month(value)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return queryset.filter(expected_close_date__gte=start, expected_close_date__lt=end)

    def filter_no_close_date(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(expected_close_date__isnull=True)
