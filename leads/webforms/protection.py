"""What keeps robots and floods out of the public form endpoint, the one view that is
CSRF-exempt (it must take posts from other sites): a signed per-render token (which form,
when it was shown; single use), a honeypot field, a minimum fill time, rate limits per
client address and per form in the cache, and a bounded body.

The limits are sliding windows in the cache (``crm.ratelimit``, which says why not a
library), keyed by form and client address (the address read through ``PROXY_COUNT``
proxies); the answer is a counted refusal on the form with a polite page.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.timezone import now

from crm.ratelimit import Limit, first_exceeded
from leads.webforms.models import WebForm, WebFormRefusal

Reason = WebFormRefusal.Reason

SALT = "leads.webforms.token"
HONEYPOT = "nickname"  # a field people never see; robots fill every field they find
MAX_AGE_SECONDS = 24 * 60 * 60


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def per_address() -> Limit:
    return Limit(*settings.WEBFORM_RATE_PER_ADDRESS)


def per_form() -> Limit:
    return Limit(*settings.WEBFORM_RATE_PER_FORM)


def issue_token(form: WebForm, *, at: float | None = None) -> str:
    """The token one rendering of the form carries: which form, when, and a nonce."""
    shown = time.time() if at is None else at
    return signing.dumps(
        {"f": form.pk, "t": round(shown, 3), "n": secrets.token_urlsafe(6)}, salt=SALT
    )


def embed_token(form: WebForm) -> str:
    """The token of the plain HTML snippet a website pastes in: it cannot change per
    rendering (no script runs), so it says only which form; the honeypot and the rate
    limits still apply to what it sends."""
    return signing.dumps({"f": form.pk, "e": 1}, salt=SALT)


def check_token(form: WebForm, token: str, *, at: float | None = None) -> None:
    """Refuse a missing or forged token, one shown more than a day ago, one sent faster
    than a person fills a form, and one used before."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as error:
        raise Refused(Reason.BAD_TOKEN) from error
    if not isinstance(data, dict) or data.get("f") != form.pk:
        raise Refused(Reason.BAD_TOKEN)
    if data.get("e") == 1:
        return
    shown = data.get("t")
    if not isinstance(shown, int | float):
        raise Refused(Reason.BAD_TOKEN)
    age = (time.time() if at is None else at) - shown
    if age > MAX_AGE_SECONDS:
        raise Refused(Reason.STALE)
    if age < settings.WEBFORM_MIN_FILL_SECONDS:
        raise Refused(Reason.TOO_FAST)
    used = f"webforms:used:{hashlib.sha256(token.encode()).hexdigest()}"
    if not cache.add(used, 1, MAX_AGE_SECONDS):
        raise Refused(Reason.REPLAYED)


def client_address(request: HttpRequest) -> str:
    """The visitor's address. Each of our ``PROXY_COUNT`` proxies appends the address it
    was reached from to X-Forwarded-For, so the entry our outermost proxy added is the
    client's; anything left of it is whatever the client claimed. Without proxies the
    header is ignored (anyone can send one)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count = settings.PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < count:
        return remote  # not through all our proxies: a direct connection
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


def check_rates(form: WebForm, address: str) -> None:
    key = f"webforms:rate:{form.pk}:{form.slug}"
    exceeded = first_exceeded([(f"{key}:{address}", per_address()), (key, per_form())])
    if exceeded == 0:
        raise Refused(Reason.RATE_LIMITED)
    if exceeded == 1:
        raise Refused(Reason.FORM_BUSY)


def count_refusal(form: WebForm, reason: str) -> None:
    """One more refusal of this kind on the form's counts."""
    for _attempt in range(2):
        updated = WebFormRefusal.objects.filter(form=form, reason=reason).update(
            count=F("count") + 1, last_at=now()
        )
        if updated:
            return
        try:
            with transaction.atomic():
                WebFormRefusal.objects.create(form=form, reason=reason, count=1)
            return
        except IntegrityError:
            continue  # created by a concurrent refusal a moment ago: count on it
