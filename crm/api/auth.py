"""Who is calling: a personal access token (``Authorization: Bearer crm_…``) or, for
same-site calls from the app's own pages, the session with its CSRF token on unsafe
methods. Either way the call acts as that user: ``visible_to`` and the role's
capabilities, exactly as on the pages.

A token is also limited by its scope (a read token may not write: 403) and by
``API_RATE_LIMIT`` (429 with ``Retry-After``), counted per token (per user for the
session) in the shared cache by ``crm.ratelimit``.
"""

from __future__ import annotations

import hmac
import math
import re
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils import formats, timezone
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.models import TOKEN_PREFIX, ApiToken, User, hash_token
from accounts.services import api_token_touch
from crm.api.errors import ApiError
from crm.ratelimit import Limit, first_exceeded

TOKEN_INVALID = "That token is not valid."
TOKEN_REVOKED = "That token was revoked; make a new one on your profile page."
TOKEN_EXPIRED = "That token expired on {date}; make a new one on your profile page."
TOKEN_USER_INACTIVE = "That token's user is deactivated."
NOT_BEARER = "Only bearer tokens are accepted: Authorization: Bearer <token>."
READ_ONLY_TOKEN = "This token may only read; a change needs a token with the write scope."
RATE_LIMITED = "Too many requests for this token: at most {limit}. Retry in {seconds} s."
CSRF_FAILED = "A signed-in call that changes data needs the CSRF token (X-CSRFToken header)."

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOKEN_SHAPE = re.compile(rf"{TOKEN_PREFIX}(?P<prefix>[0-9a-f]{{8}})_[A-Za-z0-9_-]{{43}}")
RATE = re.compile(r"(?P<count>\d+)\s*/\s*(?P<every>\d*)\s*(?P<unit>[a-z]+)")
UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
UNITS |= {"hour": 3600, "d": 86400, "day": 86400}


def rate_limit() -> Limit:
    """``API_RATE_LIMIT`` ("600/min", "10/s", "5000/hour") as a ``crm.ratelimit.Limit``."""
    text = str(settings.API_RATE_LIMIT).strip().lower()
    match = RATE.fullmatch(text)
    if match is None or match["unit"] not in UNITS or int(match["count"]) < 1:
        raise ImproperlyConfigured(f"API_RATE_LIMIT should read like 600/min, not {text!r}.")
    every = int(match["every"] or 1) * UNITS[match["unit"]]
    return Limit(count=int(match["count"]), seconds=every)


def throttle(key: str) -> None:
    """Count this call against the caller's limit; 429 past it. ``Retry-After`` is when
    the current window ends plus one hit's share of the window: by then the sliding
    count has room again for a client that stopped."""
    limit = rate_limit()
    at = time.time()
    if first_exceeded([(f"api:{key}", limit)], at=at) is None:
        return
    wait = max(1, math.ceil(limit.seconds - at % limit.seconds + limit.seconds / limit.count))
    raise ApiError(
        429,
        "rate_limited",
        RATE_LIMITED.format(limit=f"{limit.count} in {limit.seconds} s", seconds=wait),
        headers={"Retry-After": str(wait)},
    )


def _unauthorized(code: str, detail: str) -> ApiError:
    return ApiError(401, code, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def token_user(raw: str) -> ApiToken:
    """The live token this secret belongs to (its user loaded with it), or a 401."""
    match = TOKEN_SHAPE.fullmatch(raw.strip())
    if match is None:
        raise _unauthorized("token_invalid", TOKEN_INVALID)
    token = ApiToken.objects.select_related("user").filter(prefix=match["prefix"]).first()
    if token is None or not hmac.compare_digest(token.token_hash, hash_token(raw.strip())):
        raise _unauthorized("token_invalid", TOKEN_INVALID)
    if token.revoked_at is not None:
        raise _unauthorized("token_revoked", TOKEN_REVOKED)
    if token.is_expired():
        when = formats.date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")
        raise _unauthorized("token_expired", TOKEN_EXPIRED.format(date=when))
    if not token.user.is_active:
        raise _unauthorized("token_invalid", TOKEN_USER_INACTIVE)
    return token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer crm_…``. A request without the header falls through to
    the session; one with a bad token is a 401 (never the session's user instead)."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise _unauthorized("not_bearer", NOT_BEARER)
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> User:
        found = token_user(token)
        # By the random prefix, not the id: a test database's ids start again at 1.
        throttle(f"token:{found.prefix}")
        if request.method not in SAFE_METHODS and not found.can_write:
            raise ApiError(403, "insufficient_scope", READ_ONLY_TOKEN)
        api_token_touch(token=found)
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser's session, for the app's own pages (and the docs page's
    "Try it out"): unsafe methods need the CSRF token, as every form does."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        if not isinstance(user, User) or not user.is_active:
            return None
        # After the user is known: a call with no session at all is a 401, not a 403.
        if check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed", CSRF_FAILED)
        throttle(f"user:{user.pk}")
        request.api_token = None  # type: ignore[attr-defined]
        return user


def caller(request: HttpRequest) -> User:
    """The user the call acts as (set by the auth classes above)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # an endpoint mounted without auth: a bug, not a 401
        raise TypeError("crm.api endpoints are called with an authenticated user")
    return user
