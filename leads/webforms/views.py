"""The public form: the one view of the product that takes posts from other sites."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leads.webforms import protection
from leads.webforms.forms import TRACKING, VisitorForm
from leads.webforms.models import WebForm, WebFormRefusal
from leads.webforms.services import submission_accept

Reason = WebFormRefusal.Reason

# What a refused visitor reads: never why exactly (that would coach a robot), always what
# a person can do.
SEND_AGAIN = "Please check your details and send the form again."
TRY_LATER = (
    "We could not accept your message just now. Please try again in a few minutes, "
    "or contact us another way."
)
TOO_LARGE = "That was more than this form takes. Please shorten your message and send it again."
GONE = "This form is no longer available."


def _allowed_origins(form: WebForm) -> list[str]:
    return [f"https://{host}" for host in sorted(form.hosts)] + [
        f"http://{host}" for host in sorted(form.hosts) if settings.DEBUG
    ]


def _page(
    request: HttpRequest, form: WebForm, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    embed = request.GET.get("embed") == "1"
    response = render(
        request, template, {"web_form": form, "embed": embed, **context}, status=status
    )
    # The sites listed may show the form in a frame and be sent back to after it.
    origins = _allowed_origins(form)
    # (django-csp reads the attribute; X-Frame-Options is off for this view, see below.)
    policy = {
        "frame-ancestors": ["'self'", *origins] if origins else ["'none'"],
        "form-action": ["'self'", *origins],
    }
    setattr(response, "_csp_replace", policy)  # noqa: B010
    return response


def _fresh(request: HttpRequest, form: WebForm) -> VisitorForm:
    """A new rendering: a new token; where the visitor came from, from the query string
    (UTM parameters) and the request (the referring page, this page)."""
    initial: dict[str, str] = {name: request.GET.get(name, "")[:100] for name in TRACKING}
    initial["referrer"] = request.META.get("HTTP_REFERER", "")[:500]
    initial["landing_page"] = request.build_absolute_uri()[:500]
    initial["token"] = protection.issue_token(form)
    return VisitorForm(initial=initial, web_form=form)


def _again(request: HttpRequest, form: WebForm, notice: str = "") -> HttpResponse:
    """The posted form again, the visitor's input kept (and its errors shown), with a
    fresh token to send it with."""
    data = request.POST.copy()
    data["token"] = protection.issue_token(form)
    again = VisitorForm(data, web_form=form)
    again.is_valid()
    return _page(request, form, "webforms/form.html", {"form": again, "notice": notice}, 400)


def _refused(request: HttpRequest, form: WebForm, message: str, status: int) -> HttpResponse:
    return _page(request, form, "webforms/refused.html", {"message": message}, status)


@csrf_exempt  # posts come from other sites; the signed per-render token stands in for CSRF
@xframe_options_exempt  # CSP frame-ancestors decides (``_page``): the form's listed hosts
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    form = (
        WebForm.objects.filter(slug=slug, is_active=True)
        .select_related("source", "team")
        .annotate(
            tag_ids=ArraySubquery(
                WebForm.tags.through.objects.filter(webform_id=OuterRef("pk")).values("tag_id")
            )
        )
        .first()
    )
    if form is None:
        response = render(request, "webforms/gone.html", {"message": GONE}, status=404)
        return response
    if request.method == "GET":
        return _page(request, form, "webforms/form.html", {"form": _fresh(request, form)})

    length = request.META.get("CONTENT_LENGTH") or "0"
    if (
        not length.isascii()
        or not length.isdigit()
        or int(length) > settings.WEBFORM_MAX_BODY_BYTES
    ):
        protection.count_refusal(form, Reason.TOO_LARGE)
        return _refused(request, form, TOO_LARGE, 413)
    try:
        protection.check_rates(form, protection.client_address(request))
    except protection.Refused as refusal:
        protection.count_refusal(form, refusal.reason)
        return _refused(request, form, TRY_LATER, 429)
    if request.POST.get(protection.HONEYPOT):
        protection.count_refusal(form, Reason.HONEYPOT)
        return _refused(request, form, TRY_LATER, 400)
    try:
        protection.check_token(form, request.POST.get("token", ""))
    except protection.Refused as refusal:
        protection.count_refusal(form, refusal.reason)
        return _again(request, form, SEND_AGAIN)
    posted = VisitorForm(request.POST, web_form=form)
    if not posted.is_valid():
        protection.count_refusal(form, Reason.INVALID)
        return _again(request, form)
    try:
        submission_accept(form=form, data=posted.cleaned_data, tracking=posted.tracking())
    except ValidationError as refusal:  # a rule of the lead record the form cannot know
        protection.count_refusal(form, Reason.INVALID)
        return _again(request, form, " ".join(refusal.messages))
    target = form.redirect_url
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts=form.hosts, require_https=not settings.DEBUG
    ):
        return HttpResponseRedirect(target)
    return _page(request, form, "webforms/thanks.html", {"host": urlsplit(target).hostname})
