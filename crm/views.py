from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from crm import health
from crm.home.views import home as home  # the landing page, "my day" (URL name ``home``)
from crm.models import Notification
from crm.notifications import notification_mark_read
from crm.pagination import Sort, keyset_page, warn_if_cursor_invalid

NOTIFICATIONS_PER_PAGE = 30
NEWEST_FIRST = {"-created": Sort("-created", "Newest first", "created_at", descending=True)}


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": health.check_database(),
        "broker": health.check_broker(),
        "cache": health.check_cache(),
    }
    healthy = all(error is None for error in checks.values())
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: error or "ok" for name, error in checks.items()},
    }
    if replicas := health.check_replicas():
        # A replica down or lagging is skipped (the primary serves its reads): reported,
        # but the process stays healthy.
        body["replicas"] = replicas
    return JsonResponse(body, status=200 if healthy else 503)


# --- Notifications: the bell's page ----------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first, in keyset pages."""
    page = keyset_page(
        Notification.objects.for_user(request.user),
        sort_key="-created",
        after=request.GET.get("cursor"),
        before=request.GET.get("before"),
        per_page=NOTIFICATIONS_PER_PAGE,
        sorts=NEWEST_FIRST,
        default_sort="-created",
    )
    warn_if_cursor_invalid(request, page)
    template = "notifications/list.html"
    if getattr(request, "htmx", False):
        template += "#items"
    return render(request, template, {"page": page})


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = notification_mark_read(user=request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    else:
        messages.info(request, "Nothing unread.")
    return redirect("notifications:list")


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to what it is about. Only a path on this site is
    followed: a stored URL never sends anyone elsewhere (no open redirect)."""
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    notification_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(url)
    return redirect("notifications:list")
