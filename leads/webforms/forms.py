"""The visitor's form, built from what the admin chose to ask."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db import models

from leads.models import Lead
from leads.webforms.models import FIELDS, WebForm
from leads.webforms.protection import HONEYPOT

LABELS = dict(FIELDS)
MESSAGE_MAX_LENGTH = 5000
PHONE_NEEDS_DIGITS = "Enter a phone number: its digits, with + and spaces if you like."
MIN_PHONE_DIGITS = 5
REACH_ME = "Give us an email address or a phone number, so we can get back to you."
# Where a visitor came from: from the hosted page's query string, or from hidden fields
# a website's snippet fills in.
TRACKING = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]
TRACKING_LENGTH = 100
PAGE_LENGTH = 500


def _lead_field(name: str) -> forms.Field:
    if name == "message":
        return forms.CharField(
            max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
        )
    model_field = Lead._meta.get_field(name)
    assert isinstance(model_field, models.Field)  # noqa: S101
    https: dict[str, Any] = (
        {"assume_scheme": "https"} if isinstance(model_field, models.URLField) else {}
    )
    field = model_field.formfield(**https)
    assert field is not None  # noqa: S101  (every askable field is a form field)
    # The model's own checks (a phone's digits, say) in the form, so they are errors in
    # place and not the service's refusal after the fact.
    field.validators.extend(v for v in model_field.validators if v not in field.validators)
    return field


class VisitorForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, web_form: WebForm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        for name in web_form.fields:
            field = _lead_field(name)
            field.label = LABELS[name]
            field.required = name in web_form.required
            if name == "email":
                field.widget.attrs["autocomplete"] = "email"
            elif name == "phone":
                field.widget.input_type = "tel"
                field.widget.attrs["autocomplete"] = "tel"
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css
            self.fields[name] = field
        if web_form.consent_text:
            self.fields["consent"] = forms.BooleanField(
                label=web_form.consent_text, required=web_form.consent_required
            )
        for name in TRACKING:
            self.fields[name] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=1000
            )
        for name in ("referrer", "landing_page"):
            self.fields[name] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=2000
            )
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            label="Leave this empty",
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if phone and len(re.sub(r"\D", "", phone)) < MIN_PHONE_DIGITS:
            raise forms.ValidationError(PHONE_NEEDS_DIGITS)
        return phone

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-describedby"] = f"id_{name}-errors"

    @property
    def visible_fields_asked(self) -> list[forms.BoundField]:
        hidden = {"token", HONEYPOT, "referrer", "landing_page", *TRACKING}
        return [self[name] for name in self.fields if name not in hidden]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        asked = set(self.web_form.fields)
        reachable = data.get("email") or data.get("phone")
        typed_wrong = self.errors.get("email") or self.errors.get("phone")
        if {"email", "phone"} & asked and not reachable and not typed_wrong:
            raise forms.ValidationError(REACH_ME)
        return data

    def tracking(self) -> dict[str, str]:
        """UTM parameters and pages, cut to what the lead keeps."""
        data = self.cleaned_data
        kept = {name: str(data.get(name) or "").strip()[:TRACKING_LENGTH] for name in TRACKING}
        for name in ("referrer", "landing_page"):
            kept[name] = str(data.get(name) or "").strip()[:PAGE_LENGTH]
        return kept
