"""Form helpers every app's views use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

VERSION_MISSING = (
    "This form did not say which version of the record it was based on, so nothing was "
    "saved. Reload the page and make your change again."
)


def version_field() -> forms.IntegerField:
    """The hidden version an edit is based on; ``VersionRequired`` makes it compulsory."""
    return forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        min_value=0,
        error_messages={"invalid": VERSION_MISSING, "min_value": VERSION_MISSING},
    )


class VersionRequired:
    """An edit must carry the version it was based on: without one a stale edit would
    silently overwrite a newer one (last write wins). The refusal is a form error, shown
    at the top of the form (a hidden field's own error would show nowhere)."""

    def version_required(self) -> bool:
        return "version" in self.fields  # type: ignore[attr-defined]

    def clean(self) -> Any:
        data = super().clean()  # type: ignore[misc]
        form: Any = self
        if self.version_required():
            if "version" in form.errors:
                del form.errors["version"]
                form.add_error(None, VERSION_MISSING)
            elif form.cleaned_data.get("version") is None:
                form.add_error(None, VERSION_MISSING)
        return data


def refusal(form: forms.Form, otherwise: str) -> str:
    """What to tell the user about a refused one-click form: that it did not say which
    version it was based on (the page is too old to act on), else the action's own message."""
    if VERSION_MISSING in form.non_field_errors():
        return VERSION_MISSING
    return otherwise


def keep_input_at_version(form: Any, request: HttpRequest, version: int) -> None:
    """After a save refused as stale: keep everything the user typed, now based on the
    version that is stored, so saving again overwrites knowingly (and nothing is lost)."""
    data = request.POST.copy()
    data["version"] = str(version)
    form.data = data


def local_next(request: HttpRequest) -> str | None:
    """The ``next`` the form or link asks to go back to, if it is a path on this site;
    else None. Only a path is followed: ``redirect()`` would resolve ``next=abc`` as a view
    name (NoReverseMatch), and ``//host`` or ``https://host`` would leave the site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
