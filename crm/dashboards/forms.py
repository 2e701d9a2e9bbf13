"""The dashboard's filters, read from the query string (a GET form: bookmarkable)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from accounts.models import Scope, User, access_scope
from crm.dashboards.selectors import Selection
from crm.validators import validate_date_bounds
from leads.selectors import Choices

PRESETS = [
    ("90", "Last 90 days"),
    ("30", "Last 30 days"),
    ("month", "This month"),
    ("quarter", "This quarter"),
    ("year", "Last 365 days"),
    ("custom", "Custom"),
]
PERIODS = [("week", "By week"), ("month", "By month")]
# Longest custom range: two years keeps the page within its time budget.
MAX_DAYS = 731

CUSTOM_NEEDS_DATES = "Enter both dates for a custom range."
END_BEFORE_START = "The end date is before the start date."
RANGE_TOO_LONG = "Choose a range of at most two years."


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "30":
        return today - timedelta(days=29), today
    if preset == "month":
        return today.replace(day=1), today
    if preset == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if preset == "year":
        return today - timedelta(days=364), today
    return today - timedelta(days=89), today


class DashboardForm(forms.Form):
    range = forms.ChoiceField(choices=PRESETS, required=False, label="Dates")
    start = forms.DateField(
        required=False,
        label="From",
        validators=[validate_date_bounds],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label="To",
        validators=[validate_date_bounds],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Rep")
    source = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    period = forms.ChoiceField(choices=PERIODS, required=False, label="Volume")

    def __init__(self, *args: Any, user: User, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.scope = access_scope(user)
        all_label = "All teams" if self.scope == Scope.ALL else "All my teams"
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", all_label)] + [
            (str(pk), label) for pk, label in choices.teams
        ]
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", "Everyone"),
            ("0", "Unassigned"),
        ] + [(str(pk), label) for pk, label in choices.owners]
        cast(forms.ChoiceField, self.fields["source"]).choices = [("", "Any source")] + [
            (str(pk), label) for pk, label in choices.sources
        ]
        if self.scope == Scope.OWN:
            # A rep's dashboard is their own figures: no team or rep to pick.
            del self.fields["team"]
            del self.fields["owner"]
        for bound in self.fields.values():
            css = "form-select" if isinstance(bound.widget, forms.Select) else "form-control"
            bound.widget.attrs["class"] = f"{css} form-control-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                if not self.errors:
                    raise forms.ValidationError(CUSTOM_NEEDS_DATES)
            elif end < start:
                self.add_error("end", END_BEFORE_START)
            elif (end - start).days >= MAX_DAYS:
                self.add_error("start", RANGE_TOO_LONG)
        return data

    def selection(self) -> Selection:
        """The validated choice, or the default (last 90 days) where the form is invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        preset = data.get("range") or "90"
        if preset == "custom" and data.get("start") and data.get("end"):
            start, end = data["start"], data["end"]
        else:
            preset = "90" if preset == "custom" else preset
            start, end = preset_range(preset, today)
        owner = self.user.pk if self.scope == Scope.OWN else data.get("owner")
        return Selection(
            start=start,
            end=end,
            preset=preset,
            period=data.get("period") or "week",
            team_id=data.get("team"),
            owner_id=owner,
            source_id=data.get("source"),
        )
