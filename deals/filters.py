from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import User
from crm.validators import date_in_bounds
from deals.models import Deal, Stage
from leads.selectors import Choices

STATE_CHOICES = [("open", "Open"), ("won", "Won"), ("lost", "Lost")]


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
    close_month = django_filters.CharFilter(
        method="filter_close_month",
        label="Closing in",
        widget=forms.TextInput(attrs={"type": "month"}),
    )
    value_min = django_filters.NumberFilter(
        field_name="value", lookup_expr="gte", label="Value from"
    )
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte", label="Value to")

    class Meta:
        model = Deal
        fields: list[str] = []

    def __init__(self, *args: Any, user: User, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.filters["stage"].extra["choices"] = [
            (str(stage.pk), stage.name) for stage in Stage.objects.filter(is_active=True)
        ]
        self.filters["owner"].extra["choices"] = [
            ("me", "Me"),
            *[(str(pk), label) for pk, label in choices.owners if pk != user.pk],
        ]
        self.filters["team"].extra["choices"] = [(str(pk), label) for pk, label in choices.teams]

    def filter_search(self, queryset: Any, name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(company__name__icontains=value))

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(stage__kind=value)

    def filter_owner(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(owner=self.user if value == "me" else int(value))

    def filter_close_month(self, queryset: Any, name: str, value: str) -> Any:
        year, _, month = value.partition("-")
        try:
            start = date(int(year), int(month), 1)
        except ValueError:
            return queryset.none()
        # Within the dates a deal can have (9999-12 would overflow the month after it).
        if not date_in_bounds(start):
            return queryset.none()
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return queryset.filter(expected_close_date__gte=start, expected_close_date__lt=end)
