from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms

from crm.forms import VersionRequired, version_field
from crm.validators import validate_date_bounds
from deals.models import Deal, Stage


def _set_choices(form: forms.Form, name: str, empty: str, pairs: list[tuple[int, str]]) -> None:
    field = cast(forms.ChoiceField, form.fields[name])
    field.choices = [("", empty), *[(str(pk), label) for pk, label in pairs]]


CONVERT_VALUE_NEEDED = "Enter the deal's value, or tick “Value not known yet”."
CONVERT_VALUE_TWICE = "Either enter a value or tick “Value not known yet”, not both."
VALUE_FROM_ESTIMATE = "From the lead's estimate."
VALUE_NO_ESTIMATE = "The lead has no estimate: enter the value, or tick “Value not known yet”."


class ConvertForm(VersionRequired, forms.Form):
    """A missing value is a choice the user makes (ticked "not known yet", stored as 0),
    never a 0 the form fills in by itself."""

    title = forms.CharField(max_length=200)
    value = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False
    )
    value_unknown = forms.BooleanField(
        required=False,
        label="Value not known yet",
        help_text="The deal starts at 0 until someone enters its value.",
    )
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), empty_label=None)
    expected_close_date = forms.DateField(
        validators=[validate_date_bounds],
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    contact = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Contact",
        help_text="Link an existing contact, or create one from the lead.",
    )
    company = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Company",
        help_text="Link an existing company, or create one from the lead.",
    )
    version = version_field()

    def __init__(
        self,
        *args: Any,
        owners: list[tuple[int, str]],
        contacts: list[tuple[int, str]],
        companies: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        stage = cast(forms.ModelChoiceField, self.fields["stage"])
        stage.queryset = Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True)
        _set_choices(self, "owner", "The lead's owner", owners)
        _set_choices(self, "contact", "Create a new contact", contacts)
        _set_choices(self, "company", "Create a new company (from the lead's company)", companies)
        estimated = self.initial.get("value") is not None
        self.fields["value"].help_text = VALUE_FROM_ESTIMATE if estimated else VALUE_NO_ESTIMATE

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        value, unknown = data.get("value"), data.get("value_unknown")
        if "value" in self.errors:
            return data
        if value is None and not unknown:
            self.add_error("value", CONVERT_VALUE_NEEDED)
        elif value is not None and unknown:
            self.add_error("value_unknown", CONVERT_VALUE_TWICE)
        elif unknown:
            data["value"] = Decimal("0")
        return data


class StageForm(VersionRequired, forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.filter(is_active=True))
    reason = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    version = version_field()

    def __init__(self, *args: Any, reasons: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "reason", "Choose a reason", reasons)


class AssignForm(VersionRequired, forms.Form):
    """Who owns the deal; the choices are checked by the service (``check_assignee``)."""

    owner = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    version = version_field()


class DealNoteForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("call", "Call"), ("email", "Email"), ("meeting", "Meeting"), ("note", "Note")]
    )
    body = forms.CharField(widget=forms.Textarea)


class NextActionForm(VersionRequired, forms.Form):
    next_action = forms.CharField(max_length=200, required=False)
    next_action_due = forms.DateTimeField(
        validators=[validate_date_bounds],
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    version = version_field()
    create_task = forms.BooleanField(required=False)


class DealForm(VersionRequired, forms.ModelForm):
    version = version_field()

    class Meta:
        model = Deal
        fields = ["title", "value", "currency", "probability", "expected_close_date"]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}
        labels = {"probability": "Probability (%)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
