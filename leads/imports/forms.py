"""The import page's forms: the upload, and the mapping step (a field per column)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings

from leads.imports.mapping import FIELDS
from leads.imports.models import ImportMapping, OnDuplicate
from leads.models import Lead, Source

FIELD_CHOICES = [("", "— don't import —"), *FIELDS]
REGION_INVALID = "Enter a two-letter country code, such as US or DE."


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        help_text="A .csv or .xlsx file, up to {mb} MB; the first row names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mb = settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)
        self.fields["file"].help_text = str(self.fields["file"].help_text).format(mb=mb)


class MappingForm(forms.Form):
    on_duplicate = forms.ChoiceField(
        label="When a row matches an existing lead (same email or phone)",
        choices=OnDuplicate.choices,
        initial=OnDuplicate.SKIP,
        widget=forms.RadioSelect,
    )
    default_region = forms.CharField(
        label="Country of phone numbers without a country code",
        max_length=2,
        required=False,
        help_text="Two letters, e.g. US, GB, DE. Empty: the site's default.",
    )
    default_status = forms.ChoiceField(
        label="Status of leads whose row has none (or an unknown one)",
        choices=[c for c in Lead.Status.choices if c[0] != Lead.Status.CONVERTED],
        initial=Lead.Status.NEW,
    )
    default_source = forms.ChoiceField(
        label="Source of leads whose row has none (or an unknown one)", choices=[]
    )
    save_as = forms.CharField(
        label="Save this mapping as",
        max_length=100,
        required=False,
        help_text="Optional: a name to reuse this mapping for the next file.",
    )

    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        source_field = cast(forms.ChoiceField, self.fields["default_source"])
        source_field.choices = [
            (name, name) for name in Source.objects.values_list("name", flat=True)
        ] or [("Import", "Import")]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or f"Column {index + 1}", choices=FIELD_CHOICES, required=False
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def clean_default_region(self) -> str:
        region = (self.cleaned_data.get("default_region") or "").strip().upper()
        if region and (len(region) != 2 or not region.isascii() or not region.isalpha()):
            raise forms.ValidationError(REGION_INVALID)
        return region

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{index}") or ""
            for index, header in enumerate(self.headers)
        }

    def options(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(name) or ""
            for name in ("on_duplicate", "default_region", "default_status", "default_source")
        }


def initial_for(headers: list[str], mapping: dict[str, str], options: dict[str, Any]) -> dict:
    initial: dict[str, Any] = {f"col_{i}": mapping.get(h, "") for i, h in enumerate(headers)}
    initial.update({k: v for k, v in options.items() if v})
    return initial


def saved_mappings(user: Any) -> list[ImportMapping]:
    return list(ImportMapping.objects.filter(created_by=user).order_by("name"))
