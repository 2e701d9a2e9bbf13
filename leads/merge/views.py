"""The duplicates page, the merge preview and undo. Thin: scope, validate, one service."""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Scope, User, access_scope
from leads.merge import selectors, services
from leads.models import Lead, LeadMerge

# Messages users see, kept here so the tests can assert the exact text.
IDS_MISSING = "Choose the leads to merge: open them from the duplicates page or a lead's hints."
IDS_INVALID = "The leads to merge were not understood; nothing was merged."
IDS_NOT_VISIBLE = "{count} of these leads cannot be opened by you (or were merged already)."
MANAGERS_ONLY = "The duplicates page is for managers."
MERGED = "Merged {numbers} into {survivor}."
UNDONE = "The merge was undone: {numbers} {verb} separate again."
ID_LIST = re.compile(r"^\s*\d{1,18}(\s*,\s*\d{1,18})*\s*,?\s*$")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def parse_ids(raw: str) -> list[int]:
    """``"3, 1,2"`` → ``[3, 1, 2]`` (each once); ValidationError for anything else."""
    if not raw.strip():
        raise ValidationError(IDS_MISSING)
    if not ID_LIST.match(raw):
        raise ValidationError(IDS_INVALID)
    ids = list(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
    if len(ids) < 2:
        raise ValidationError(services.MERGE_NEEDS_TWO)
    if len(ids) > services.MERGE_LIMIT:
        raise ValidationError(services.MERGE_TOO_MANY.format(limit=services.MERGE_LIMIT))
    return ids


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Groups of likely duplicates among the leads the manager sees."""
    user = _user(request)
    if access_scope(user) == Scope.OWN:
        raise PermissionDenied(MANAGERS_ONLY)
    slug = request.GET.get("by", "email")
    if slug not in selectors.MATCHINGS:
        slug = "email"
    after = request.GET.get("after", "").replace("\x00", "")[:600] or None
    page = selectors.duplicate_groups(Lead.objects.visible_to(user), slug=slug, after=after)
    return render(
        request,
        "leads/duplicates.html",
        {
            "page": page,
            "slug": slug,
            "matchings": selectors.MATCHINGS.values(),
            "after": after,
        },
    )


def _preview_context(
    user: User, leads: list[Lead], survivor: Lead, choices: dict[str, int]
) -> dict[str, Any]:
    return {
        "leads": leads,
        "survivor": survivor,
        "rows": selectors.merge_preview(leads, survivor, choices),
        "ids": ",".join(str(lead.pk) for lead in leads),
    }


def _chosen_id(value: str | None, allowed: set[int]) -> int | None:
    if value and value.isascii() and value.isdigit() and int(value) in allowed:
        return int(value)
    return None


@login_required
def merge_preview(request: HttpRequest) -> HttpResponse:
    """GET: which value survives per field (defaults preselected). POST: merge."""
    user = _user(request)
    data = request.POST if request.method == "POST" else request.GET
    try:
        ids = parse_ids(data.get("ids", ""))
    except ValidationError as refused:
        return render(
            request, "leads/merge_preview.html", {"error": " ".join(refused.messages)}, status=400
        )
    leads = list(
        Lead.objects.visible_to(user)
        .filter(pk__in=ids)
        .select_related("owner", "source")
        .order_by("created_at", "pk")
    )
    if len(leads) != len(ids):
        missing = IDS_NOT_VISIBLE.format(count=len(ids) - len(leads))
        return render(request, "leads/merge_preview.html", {"error": missing}, status=404)
    allowed = {lead.pk for lead in leads}
    # The oldest lead survives by default: its number is the one people already know.
    survivor_id = _chosen_id(data.get("survivor"), allowed) or leads[0].pk
    survivor = next(lead for lead in leads if lead.pk == survivor_id)
    choices = selectors.default_choices(leads, survivor)
    for name in selectors.MERGE_FIELDS:
        picked = _chosen_id(data.get(f"choice_{name}"), allowed)
        if picked is not None:
            choices[name] = picked
    if request.method == "POST":
        versions: dict[int, int | None] = {}
        for lead in leads:
            raw = request.POST.get(f"version_{lead.pk}", "")
            versions[lead.pk] = int(raw) if raw.isascii() and raw.isdigit() else None
        try:
            services.leads_merge(
                actor=user,
                survivor=survivor,
                others=[lead for lead in leads if lead.pk != survivor.pk],
                choices=choices,
                versions=versions,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            numbers = ", ".join(lead.number for lead in leads if lead.pk != survivor.pk)
            messages.success(request, MERGED.format(numbers=numbers, survivor=survivor.number))
            return redirect(survivor)
    return render(
        request, "leads/merge_preview.html", _preview_context(user, leads, survivor, choices)
    )


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    merge = get_object_or_404(
        LeadMerge.objects.filter(survivor__in=Lead.objects.visible_to(user)).select_related(
            "survivor"
        ),
        pk=pk,
    )
    try:
        services.lead_merge_undo(actor=user, merge=merge)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        numbers = ", ".join(
            Lead.objects.filter(pk__in=merge.merged_ids).values_list("number", flat=True)
        )
        verb = "is" if len(merge.merged_ids) == 1 else "are"
        messages.success(request, UNDONE.format(numbers=numbers, verb=verb))
    return redirect(merge.survivor)


def merge_url(leads: list[Lead]) -> str:
    return reverse("leads:merge") + "?ids=" + ",".join(str(lead.pk) for lead in leads)
