"""The name django-axes counts failed sign-ins under (``AXES_USERNAME_CALLABLE``).

It must be the account the login would match, or each spelling of one email gets its
own five tries: the login form strips and NFKC-normalises the username
(``django.contrib.auth.forms.UsernameField``) and ``UserManager.get_by_natural_key``
matches it case-insensitively, so the lockout does both and then counts the account's
stored email."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import UsernameField
from django.http import HttpRequest

from accounts.models import User


def lockout_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    if credentials:
        raw = credentials.get("username")
    else:
        raw = getattr(request, "POST", {}).get("username")
    if not isinstance(raw, str):
        return ""
    typed: str = UsernameField().to_python(raw) or ""
    # Axes asks several times per sign-in; one lookup per spelling and request is enough.
    memo: dict[str, str] = getattr(request, "_lockout_usernames", {})
    if typed not in memo:
        email = (
            User._default_manager.filter(email__iexact=typed)
            .values_list("email", flat=True)
            .first()
        )
        memo[typed] = email if email is not None else typed.lower()
        if request is not None:
            request._lockout_usernames = memo  # type: ignore[attr-defined]
    return memo[typed]
