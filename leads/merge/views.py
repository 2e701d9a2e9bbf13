"""The duplicates page, the merge preview and undo. Thin: scope, validate, one service.
Contacts use the same pages (``deals.merge.views``) through a ``MergeKind``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Scope, User, access_scope
from leads.merge import selectors, services
from leads.models import Lead, LeadMerge

# Messages users see, kept here so the tests can assert the exact text.
IDS_MISSING = "Choose the records to merge: open them from the duplicates page or a record's hints."
IDS_INVALID = "The records to merge were not understood; nothing was merged."
IDS_NEED_TWO = "Choose at least two different {noun} to merge."
IDS_TOO_MANY = "Merge at most {limit} {noun} at once."
IDS_NOT_VISIBLE = "{count} of these cannot be opened by you (or were merged already)."
MANAGERS_ONLY = "The duplicates page is for managers."
SIMILAR_TOO_SLOW = (
    "Looking for similar names took too long just now, so it was stopped. "
    "Try again in a moment, or look by email or phone."
)
MERGED = "Merged {numbers} into {survivor}."
UNDONE = "The merge was undone: {numbers} {verb} separate again."
ID_LIST = re.compile(r"^\s*\d{1,18}(\s*,\s*\d{1,18})*\s*,?\s*$")


@dataclass(frozen=True)
class MergeKind:
    """What the shared pages need to know about one kind of record."""

    noun: str  # "leads", "contacts"
    scoped: Callable[[User], QuerySet[Any]]
    fields: dict[str, tuple[str, ...]]
    merge: Callable[..., Any]
    preview_url: str  # URL names
    duplicates_url: str
    list_url: str
    company: str  # what "same company" compares, for the name matching
    moves: str  # what follows the survivor, for the preview's explanation
    name: Callable[[Any], str] = str  # how a message names one record
    # The duplicates page's ways of matching (selectors.MATCHINGS): leads have the trigram
    # "similar" (lead_company_key_idx); contacts, whose company is a join, the exact name.
    matchings: tuple[str, ...] = ("email", "phone", "name")


LEADS = MergeKind(
    noun="leads",
    scoped=lambda user: Lead.objects.visible_to(user).select_related("owner", "source"),
    fields=selectors.MERGE_FIELDS,
    merge=services.leads_merge,
    preview_url="leads:merge",
    duplicates_url="leads:duplicates",
    list_url="leads:list",
    company="company",
    moves="Notes, tasks, tags, received emails and history",
    name=lambda lead: str(lead.number),
    matchings=("email", "phone", "similar"),
)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def parse_ids(raw: str, noun: str = "leads") -> list[int]:
    """``"3, 1,2"`` → ``[3, 1, 2]`` (each once); ValidationError for anything else."""
    if not raw.strip():
        raise ValidationError(IDS_MISSING)
    if not ID_LIST.match(raw):
        raise ValidationError(IDS_INVALID)
    ids = list(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
    if len(ids) < 2:
        raise ValidationError(IDS_NEED_TWO.format(noun=noun))
    if len(ids) > services.MERGE_LIMIT:
        raise ValidationError(IDS_TOO_MANY.format(limit=services.MERGE_LIMIT, noun=noun))
    return ids


def duplicates_page(request: HttpRequest, kind: MergeKind) -> HttpResponse:
    user = _user(request)
    if access_scope(user) == Scope.OWN:
        raise PermissionDenied(MANAGERS_ONLY)
    slug = request.GET.get("by", "email")
    if slug not in kind.matchings:
        slug = "email"
    after = request.GET.get("after", "")[:600] or None
    scoped = kind.scoped(user).order_by()
    if slug == "similar":
        try:
            page = selectors.similar_groups(scoped, after=after)
        except selectors.TooSlow:
            messages.warning(request, SIMILAR_TOO_SLOW)
            page = selectors.GroupPage(groups=[], next_cursor=None)
    else:
        page = selectors.duplicate_groups(scoped, slug=slug, after=after, company=kind.company)
    return render(
        request,
        "merge/duplicates.html",
        {
            "kind": kind,
            "page": page,
            "slug": slug,
            "matchings": [selectors.MATCHINGS[name] for name in kind.matchings],
            "after": after,
        },
    )


def _chosen_id(value: str | None, allowed: set[int]) -> int | None:
    if value and value.isascii() and value.isdigit() and int(value) in allowed:
        return int(value)
    return None


def preview_page(request: HttpRequest, kind: MergeKind) -> HttpResponse:
    """GET: which value survives per field (defaults preselected). POST: merge."""
    user = _user(request)
    data = request.POST if request.method == "POST" else request.GET
    context: dict[str, Any] = {"kind": kind}
    try:
        ids = parse_ids(data.get("ids", ""), kind.noun)
    except ValidationError as refused:
        context["error"] = " ".join(refused.messages)
        return render(request, "merge/preview.html", context, status=400)
    records = list(kind.scoped(user).filter(pk__in=ids).order_by("created_at", "pk"))
    if len(records) != len(ids):
        context["error"] = IDS_NOT_VISIBLE.format(count=len(ids) - len(records))
        return render(request, "merge/preview.html", context, status=404)
    allowed = {record.pk for record in records}
    # The oldest record survives by default: its number is the one people already know.
    survivor_id = _chosen_id(data.get("survivor"), allowed) or records[0].pk
    survivor = next(record for record in records if record.pk == survivor_id)
    choices = selectors.default_choices(records, survivor, kind.fields)
    for name in kind.fields:
        picked = _chosen_id(data.get(f"choice_{name}"), allowed)
        if picked is not None:
            choices[name] = picked
    if request.method == "POST":
        versions: dict[int, int | None] = {}
        for record in records:
            raw = request.POST.get(f"version_{record.pk}", "")
            versions[record.pk] = int(raw) if raw.isascii() and raw.isdigit() else None
        try:
            kind.merge(
                actor=user,
                survivor=survivor,
                others=[record for record in records if record.pk != survivor.pk],
                choices=choices,
                versions=versions,
            )
        except ValidationError as refused:
            for message in refused.messages:
                messages.error(request, message)
        else:
            numbers = ", ".join(
                str(r.number if kind is LEADS else r) for r in records if r != survivor
            )
            survivor_name = survivor.number if kind is LEADS else str(survivor)
            messages.success(request, MERGED.format(numbers=numbers, survivor=survivor_name))
            return redirect(survivor)
    context.update(
        records=records,
        survivor=survivor,
        rows=selectors.merge_preview(records, survivor, choices, kind.fields),
        ids=",".join(str(record.pk) for record in records),
    )
    return render(request, "merge/preview.html", context)


def undo_page(
    request: HttpRequest, merges: QuerySet[Any], pk: int, undo: Callable[..., Any], names: Any
) -> HttpResponse:
    merge = get_object_or_404(merges.select_related("survivor"), pk=pk)
    try:
        undo(actor=_user(request), merge=merge)
    except ValidationError as refused:
        for message in refused.messages:
            messages.error(request, message)
    else:
        verb = "is" if len(merge.merged_ids) == 1 else "are"
        messages.success(request, UNDONE.format(numbers=names(merge.merged_ids), verb=verb))
    return redirect(merge.survivor)


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Groups of likely duplicates among the leads the manager sees."""
    return duplicates_page(request, LEADS)


@login_required
def merge_preview(request: HttpRequest) -> HttpResponse:
    return preview_page(request, LEADS)


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    return undo_page(
        request,
        LeadMerge.objects.filter(survivor__in=Lead.objects.visible_to(_user(request))),
        pk,
        services.lead_merge_undo,
        lambda ids: ", ".join(Lead.objects.filter(pk__in=ids).values_list("number", flat=True)),
    )


def merge_url(records: list[Any], name: str = "leads:merge") -> str:
    return reverse(name) + "?ids=" + ",".join(str(record.pk) for record in records)
