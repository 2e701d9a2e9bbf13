from __future__ import annotations

from typing import Any, cast

from django import forms

from crm.followups.emails.services import (
    SUBJECT_MAX_LENGTH,
    TEMPLATE_NOT_AVAILABLE,
    UNKNOWN_PLACEHOLDER,
    template_groups,
    unknown_placeholders,
)
from crm.followups.models import EmailTemplate


class TemplatePickForm(forms.Form):
    """Which template to start from (a GET form: picking one only fills in the text)."""

    template = forms.ChoiceField(
        required=False,
        label="Template",
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": TEMPLATE_NOT_AVAILABLE},
    )

    def __init__(self, *args: Any, templates: list[EmailTemplate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.templates = {str(template.pk): template for template in templates}
        choices: list[Any] = [("", "Choose a template…")]
        for label, items in template_groups(templates):
            choices.append((label, [(str(template.pk), template.name) for template in items]))
        cast(forms.ChoiceField, self.fields["template"]).choices = choices

    def chosen(self) -> EmailTemplate | None:
        if not self.is_valid():
            return None
        return self.templates.get(self.cleaned_data["template"])


class EmailForm(forms.Form):
    """The message as the user edited it. The services check the address and send."""

    to = forms.CharField(
        label="To",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    subject = forms.CharField(max_length=SUBJECT_MAX_LENGTH)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 14}), strip=False)


class PersonalTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        unknown = unknown_placeholders(data.get("subject") or "", data.get("body") or "")
        for name in unknown:
            self.add_error(None, UNKNOWN_PLACEHOLDER.format(placeholder=name))
        return data
