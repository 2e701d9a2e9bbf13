from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Field, Fieldset, Layout, Row
from django import forms
from django.core.validators import EmailValidator

from crm.forms import VersionRequired, version_field
from crm.validators import parse_id, validate_date_bounds
from leads.models import Lead, LeadNote, Source
from leads.selectors import Choices
from leads.services import EDITABLE_FIELDS, TAG_MAX_LENGTH, TAG_TOO_LONG, tag_names

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

# A lead's email may not have letters outside ASCII before the @ (lucía@…), although RFC
# 6531 allows them and web forms will receive them: most mailboxes cannot take them, and
# our mail goes out over plain SMTP without SMTPUTF8, so such a lead could never be
# emailed. Django's EmailValidator already refuses them (and the model keeps refusing
# them on every other path); the form says why instead of a bare "not valid". An
# internationalised domain (…@bücher.example) is fine: it is sent as punycode.
EMAIL_LOCAL_PART_NOT_ASCII = (
    "Before the @, an email address can only have letters without accents, digits and "
    ". _ - + (lucia@…, not lucía@…): most mail servers cannot deliver to other letters. "
    "Accents are fine after the @."
)


class LeadEmailValidator(EmailValidator):
    def __call__(self, value: str | None) -> None:
        if value and not str(value).rpartition("@")[0].isascii():
            raise forms.ValidationError(EMAIL_LOCAL_PART_NOT_ASCII, code="invalid")
        super().__call__(value)


def _choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _choice(pairs: list[tuple[int, str]], empty: str | None = None) -> list[tuple[str, str]]:
    head = [("", empty)] if empty is not None else []
    return head + [(str(pk), label) for pk, label in pairs]


class LeadForm(VersionRequired, forms.ModelForm):
    """Create and edit. Validates; the view hands ``cleaned_data`` to the services."""

    def version_required(self) -> bool:
        return self.instance.pk is not None  # a new lead has no version yet

    def clean_new_tags(self) -> list[str]:
        names = tag_names(self.cleaned_data.get("new_tags") or "")
        too_long = [name for name in names if len(name) > TAG_MAX_LENGTH]
        if too_long:
            raise forms.ValidationError(TAG_TOO_LONG.format(name=too_long[0], limit=TAG_MAX_LENGTH))
        return names

    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    tags = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    new_tags = forms.CharField(
        required=False,
        max_length=400,
        label="New tags",
        help_text="Not in the list? Type them here, separated by commas.",
    )
    version = version_field()
    website = forms.URLField(required=False, max_length=255, assume_scheme="https")
    next_action_due = forms.DateTimeField(
        validators=[validate_date_bounds],
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )
    consent_at = forms.DateTimeField(
        validators=[validate_date_bounds],
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        label="Consent given at",
    )

    class Meta:
        model = Lead
        fields = EDITABLE_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(
        self,
        *args: Any,
        choices: Choices,
        can_assign: bool,
        can_create_tags: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].required = False
        email = self.fields["email"]
        email.validators = [
            LeadEmailValidator() if isinstance(v, EmailValidator) else v for v in email.validators
        ]
        if not can_create_tags:
            del self.fields["new_tags"]
        source = cast(forms.ModelChoiceField, self.fields["source"])
        source.queryset = Source.objects.filter(is_active=True)
        _choice_field(self, "tags").choices = _choice(choices.tags)
        if can_assign and not self.instance.pk:
            _choice_field(self, "owner").choices = _choice(choices.owners, "Unassigned (team pool)")
        else:
            del self.fields["owner"]
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields["tags"].initial = [tag.pk for tag in self.instance.tags.all()]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                "Who",
                Row(Column("first_name"), Column("last_name")),
                Row(Column("company"), Column("job_title")),
                Row(Column("email"), Column("phone")),
                Row(Column("website"), Column("country"), Column("region")),
            ),
            Fieldset(
                "Work",
                Row(Column("next_action", css_class="col-md-8"), Column("next_action_due")),
                Row(
                    Column("rate"), Column("source"), *(["owner"] if "owner" in self.fields else [])
                ),
                Row(
                    Column("estimated_value"),
                    Column(
                        Div(
                            "tags",
                            *(["new_tags"] if "new_tags" in self.fields else []),
                            css_class="tag-picker",
                            data_tag_picker="",
                        )
                    ),
                ),
            ),
            Fieldset(
                "Qualification (BANT)",
                Row(Column("budget"), Column("authority"), Column("timeline")),
                "need",
            ),
            Fieldset("Notes", "description"),
            Div(
                Fieldset(
                    "Origin and consent",
                    Row(
                        Column("number"),
                        Column("utm_source"),
                        Column("utm_medium"),
                        Column("utm_campaign"),
                    ),
                    Row(
                        Column("marketing_consent"), Column("consent_at"), Column("consent_source")
                    ),
                ),
                css_class="border-top pt-2",
            ),
            Field("version"),
        )

    def clean_number(self) -> str:
        number: str = (self.cleaned_data.get("number") or "").strip()
        if not number and self.instance.pk:
            return self.instance.number
        return number

    def clean_email(self) -> str:
        return (self.cleaned_data.get("email") or "").strip().lower()


class NoteForm(forms.ModelForm):
    class Meta:
        model = LeadNote
        fields = ["kind", "body", "outcome", "next_step"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 3, "placeholder": "What happened?"}),
            "outcome": forms.TextInput(attrs={"placeholder": "e.g. Interested, call back"}),
            "next_step": forms.TextInput(attrs={"placeholder": "e.g. Send pricing"}),
        }
        labels = {"body": "Note"}


class NextActionForm(VersionRequired, forms.Form):
    next_action = forms.CharField(max_length=200, required=False, label="Next action")
    next_action_due = forms.DateTimeField(
        validators=[validate_date_bounds],
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        label="Due",
    )
    version = version_field()
    create_task = forms.BooleanField(
        required=False, label="Also create a follow-up task with a reminder"
    )


class StatusForm(VersionRequired, forms.Form):
    status = forms.ChoiceField(choices=Lead.Status.choices)
    reason = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    version = version_field()

    def __init__(self, *args: Any, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "reason").choices = _choice(choices.lost_reasons, "Choose a reason")


class AssignForm(VersionRequired, forms.Form):
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    version = version_field()

    def __init__(self, *args: Any, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "owner").choices = _choice(choices.owners, "Unassigned (team pool)")


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign", "Assign to"),
        ("status", "Change status to"),
        ("tag", "Add tag"),
        ("route", "Run the assignment rules"),
    ]

    action = forms.ChoiceField(choices=ACTIONS)
    leads = forms.TypedMultipleChoiceField(coerce=int)  # choices: the ids on the page
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(required=False, choices=[("", "—"), *Lead.Status.choices])
    reason = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    tag = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "owner").choices = _choice(choices.owners, "Unassigned (team pool)")
        _choice_field(self, "reason").choices = _choice(
            choices.lost_reasons, "Reason (for Lost/Unqualified)"
        )
        _choice_field(self, "tag").choices = _choice(choices.tags, "—")
        raw = self.data.getlist("leads") if hasattr(self.data, "getlist") else []
        # Any integer is a valid choice here; visibility is checked against visible_to later.
        _choice_field(self, "leads").choices = [
            (value, value) for value in raw if parse_id(value) is not None
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", "Choose the new status.")
        if action == "tag" and not data.get("tag"):
            self.add_error("tag", "Choose a tag.")
        return data


class VersionForm(VersionRequired, forms.Form):
    """A one-click edit (the suggested rate): only the version it was based on."""

    version = version_field()
