"""Form helpers every app's views use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def keep_input_at_version(form: Any, request: HttpRequest, version: int) -> None:
    """After a save refused as stale: keep everything the user typed, now based on the
    version that is stored, so saving again overwrites knowingly (and nothing is lost)."""
    data = request.POST.copy()
    data["version"] = str(version)
    form.data = data
