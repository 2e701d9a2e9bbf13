from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import Membership, Scope, User, access_scope, team_ids_of
from accounts.roles import Capability
from crm.followups import services as followups
from crm.followups import views as task_views
from crm.forms import keep_input_at_version, local_next, refusal
from crm.pagination import COUNT_CAP, capped_count, keyset_page, warn_if_cursor_invalid
from crm.validators import safe_localtime
from deals.models import Contact
from leads import services
from leads.filters import SAVED_VIEWS, LeadFilter
from leads.forms import (
    AssignForm,
    BulkForm,
    LeadForm,
    NextActionForm,
    NoteForm,
    StatusForm,
    VersionForm,
)
from leads.merge.selectors import undoable_merges
from leads.models import Lead, LeadNote, LeadSettings, LostReason, Tag
from leads.phones import normalize_phone
from leads.scoring.services import default_bands as score_bands_default
from leads.scoring.services import suggested_rate
from leads.selectors import (
    DEFAULT_LEAD_SORT,
    LEAD_SORTS,
    choices_for,
    estimated_lead_count,
    timeline_of,
)

PER_PAGE = 50
# A matching lead the user cannot open: in their own team its owner is named (they can
# just ask); in another team only that it is taken, and whom to ask, never by whom.
DUPLICATE_IN_TEAM = "{count} matching lead{s} {belong} to {owners}. Ask them before adding another."
DUPLICATE_ELSEWHERE = (
    "{count} matching lead{s} {is_} already being handled elsewhere. Ask {ask} before "
    "adding another."
)
DUPLICATE_ASK_ADMIN = "an admin"
SEARCH_COUNT_CAP = 1_000
MERGED_AWAY = "{lead} was merged into {survivor}; this is the lead it became."
MERGED_AWAY_NOTHING_DONE = "{lead} was merged into {survivor}; nothing was changed. Check here."
EXPORT_COLUMNS = [
    ("number", "Lead number"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("status", "Status"),
    ("rate", "Rate"),
    ("owner__email", "Owner"),
    ("source__name", "Source"),
    ("next_action", "Next action"),
    ("next_action_due", "Next action due"),
    ("estimated_value", "Estimated value"),
    ("created_at", "Created"),
]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class MergedAway(Exception):
    """The lead asked for was merged into ``survivor``, which the user can open."""

    def __init__(self, lead: Lead, survivor: Lead) -> None:
        super().__init__(lead.number)
        self.lead = lead
        self.survivor = survivor


def _lead_or_404(request: HttpRequest, pk: int, **annotations: Any) -> Lead:
    """Every lead view starts here: another rep's lead is a 404, never a 403. A lead merged
    away raises ``MergedAway`` (its views are wrapped in ``follows_merges``)."""
    user = _user(request)
    try:
        return get_object_or_404(
            Lead.objects.visible_to(user)
            .select_related("owner", "source", "team", "lost_reason", "created_by", "deal")
            .annotate(**annotations),
            pk=pk,
        )
    except Http404:
        scoped = Lead.objects.visible_with_merged(user)
        merged = scoped.filter(pk=pk, merged_into__isnull=False).first()
        survivor = scoped.survivor_of(merged) if merged is not None else None
        if merged is None or survivor is None:
            raise
        raise MergedAway(merged, survivor) from None


def follows_merges(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A merged-away lead's URL leads to its survivor, with a word on why (an action posted
    to it is not done: it was meant for a lead that is now part of another)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MergedAway as moved:
            text = MERGED_AWAY if request.method in ("GET", "HEAD") else MERGED_AWAY_NOTHING_DONE
            messages.info(
                request, text.format(lead=moved.lead.number, survivor=moved.survivor.number)
            )
            return redirect(moved.survivor)

    return wrapped


def _say_conflict(request: HttpRequest, conflict: services.LeadConflict) -> None:
    changed = [
        f"{event.actor or 'The system'} {event.get_action_display()}"
        + (f" ({', '.join(event.changes)})" if event.changes else "")
        for event in conflict.changes
    ]
    detail = "; ".join(changed) if changed else "it was saved again"
    messages.warning(
        request, f"{services.CONFLICT} Since you opened it: {detail}. Check and retry."
    )


# --- The list -----------------------------------------------------------------------------


def _filtered(request: HttpRequest, user: User, choices: Any) -> LeadFilter:
    return LeadFilter(
        request.GET or None,
        queryset=Lead.objects.visible_to(user).for_list(),
        user=user,
        choices=choices,
    )


def _count_context(request: HttpRequest, user: User, filterset: LeadFilter) -> dict[str, Any]:
    if not filterset.is_filtered and access_scope(user) == Scope.ALL:
        return {"total": estimated_lead_count(), "total_is_estimate": True}
    # A search matching over a thousand leads needs refining more than an exact count.
    cap = SEARCH_COUNT_CAP if request.GET.get("q") else COUNT_CAP
    total, more = capped_count(filterset.qs.values("pk"), cap)
    return {"total": total, "total_is_capped": more}


@login_required
@vary_on_headers("HX-Request")
def lead_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    choices = choices_for(user)
    filterset = _filtered(request, user, choices)
    page = keyset_page(
        filterset.qs,
        sort_key=request.GET.get("sort"),
        after=request.GET.get("cursor"),
        before=request.GET.get("before"),
        per_page=PER_PAGE,
        sorts=LEAD_SORTS,
        default_sort=DEFAULT_LEAD_SORT,
    )
    warn_if_cursor_invalid(request, page)
    # Counting a broad search costs more than the page itself: the page asks for it
    # after it has loaded (htmx), and says "50+" without JavaScript.
    defer_count = bool(request.GET.get("q")) and page.has_next
    context = {
        "filter": filterset,
        "page": page,
        "count_deferred": defer_count,
        "sort_choices": [(sort.key, sort.label) for sort in LEAD_SORTS.values()],
        "status_choices": [("", "Any status"), ("open", "All open"), *Lead.Status.choices],
        "saved_views": SAVED_VIEWS,
        "bulk_form": BulkForm(choices=choices) if _can_bulk(user) else None,
        "can_export": user.has_perm(f"accounts.{Capability.EXPORT_RECORDS}"),
        "can_import": user.has_perm(f"accounts.{Capability.IMPORT_RECORDS}"),
    }
    if not defer_count:
        context.update(_count_context(request, user, filterset))
    is_htmx = bool(getattr(request, "htmx", False))
    template = "leads/lead_list.html#results" if is_htmx else "leads/lead_list.html"
    return render(request, template, context)


@login_required
def lead_count(request: HttpRequest) -> HttpResponse:
    """How many leads the list's filters match (capped), for the deferred count."""
    user = _user(request)
    filterset = _filtered(request, user, choices_for(user))
    return render(request, "leads/lead_list.html#count", _count_context(request, user, filterset))


def _can_bulk(user: User) -> bool:
    return user.has_perm(f"accounts.{Capability.BULK_UPDATE}")


class Echo:
    """A file-like object whose write returns the line, for streaming CSV."""

    def write(self, value: str) -> str:
        return value


def _neutralise(value: Any) -> str:
    """Stop spreadsheet apps from running a cell as a formula (CSV injection)."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = (
            safe_localtime(value).strftime("%Y-%m-%d %H:%M")
            if hasattr(value, "hour")
            else value.isoformat()
        )
    text = str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@login_required
@permission_required(f"accounts.{Capability.EXPORT_RECORDS}", raise_exception=True)
def lead_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed: memory stays flat whatever the row count."""
    user = _user(request)
    filterset = LeadFilter(
        request.GET or None,
        queryset=Lead.objects.visible_to(user),
        user=user,
        choices=choices_for(user),
    )
    rows: QuerySet[Any] = filterset.qs.order_by("-created_at", "-id").values_list(
        *[column for column, _ in EXPORT_COLUMNS]
    )
    statuses = dict(Lead.Status.choices)
    rates = dict(Lead.Rate.choices)
    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([label for _, label in EXPORT_COLUMNS])
        for row in rows.iterator(chunk_size=2000):
            values = list(row)
            values[7] = statuses.get(values[7], values[7])
            values[8] = rates.get(values[8], values[8])
            yield writer.writerow([_neutralise(value) for value in values])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not _can_bulk(user):
        messages.error(request, "Your role does not allow bulk changes.")
        return redirect("leads:list")
    choices = choices_for(user)
    form = BulkForm(request.POST, choices=choices)
    back = local_next(request) or ""
    target = back if back.startswith("/leads/") else "leads:list"
    if not form.is_valid():
        errors = "; ".join(" ".join(str(e) for e in errs) for errs in form.errors.values())
        messages.error(request, f"Nothing was changed: {errors}")
        return redirect(target)
    data = form.cleaned_data
    ids = set(data["leads"])
    leads = list(Lead.objects.visible_to(user).select_related("owner").filter(pk__in=sorted(ids)))
    params: dict[str, Any] = {}
    if data["action"] == "assign":
        params["owner"] = User.objects.filter(pk=data["owner"]).first() if data["owner"] else None
    elif data["action"] == "status":
        params["status"] = data["status"]
        params["reason"] = (
            LostReason.objects.filter(pk=data["reason"]).first() if data["reason"] else None
        )
    elif data["action"] == "tag":
        params["tag"] = get_object_or_404(Tag, pk=data["tag"])
    result = services.lead_bulk_apply(actor=user, leads=leads, action=data["action"], **params)
    missing = len(ids) - len(leads)
    if result.done:
        messages.success(request, f"Updated {len(result.done)} lead(s).")
    for lead, reason in result.skipped[:10]:
        messages.warning(request, f"Skipped {lead.number}: {reason}")
    if len(result.skipped) > 10:
        messages.warning(request, f"…and {len(result.skipped) - 10} more skipped.")
    if missing:
        messages.warning(request, f"Skipped {missing} lead(s) that are not visible to you.")
    return redirect(target)


# --- One lead ---------------------------------------------------------------------------


@follows_merges
@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    # Tags and the open tasks come with the lead itself: a page query each saved.
    lead = _lead_or_404(
        request,
        pk,
        tag_names=ArraySubquery(Tag.objects.filter(leads=OuterRef("pk")).values("name")),
        open_tasks=task_views.open_tasks_column(user, "lead"),
        # The suggested rate's thresholds come with the lead: no query of their own.
        hot_from=Subquery(LeadSettings.objects.filter(pk=1).values("score_hot_from")),
        warm_from=Subquery(LeadSettings.objects.filter(pk=1).values("score_warm_from")),
    )
    choices = choices_for(user)
    default_bands = score_bands_default()
    bands = (
        lead.hot_from or default_bands[0],  # type: ignore[attr-defined]
        lead.warm_from or default_bands[1],  # type: ignore[attr-defined]
    )
    suggestion = suggested_rate(lead.score if lead.scored_at else None, bands)
    visible = Lead.objects.visible_to(user)
    duplicates = list(
        visible.possible_duplicates(
            email=lead.email,
            phone_normalized=lead.phone_normalized,
            last_name=lead.last_name,
            company=lead.company,
            exclude_pk=lead.pk,
        )
    )
    version = {"version": lead.version}
    context = {
        "lead": lead,
        "tags": lead.tag_names,  # type: ignore[attr-defined]
        "timeline": timeline_of(lead),
        "duplicates": duplicates,
        "merge_ids": ",".join(str(item.pk) for item in [lead, *duplicates]),
        "merges": undoable_merges(lead),
        "moves": [Lead.Status(status) for status in services.status_moves(lead, user)],
        "reason_statuses": Lead.REASON_STATUSES,
        "can_work": services.can_work_on(user, lead),
        "can_assign": services.can_assign(user),
        "can_convert": lead.status == Lead.Status.QUALIFIED
        and services.can_work_on(user, lead)
        and user.has_perm(f"accounts.{Capability.CONVERT_LEAD}"),
        "status_form": StatusForm(initial=version, choices=choices),
        "assign_form": AssignForm(initial={**version, "owner": lead.owner_id}, choices=choices),
        "next_action_form": NextActionForm(
            initial={
                **version,
                "next_action": lead.next_action,
                "next_action_due": lead.next_action_due,
            }
        ),
        "note_kinds": LeadNote.Kind.choices,
        "suggested_rate": Lead.Rate(suggestion) if suggestion else None,
        "can_apply_rate": bool(suggestion)
        and suggestion != lead.rate
        and lead.status != Lead.Status.CONVERTED
        and services.can_work_on(user, lead),
        "score_bands": bands,
        "panel": task_views.task_panel(
            user,
            lead,
            task_views.tasks_from_rows(lead.open_tasks, lead),  # type: ignore[attr-defined]
            owners=choices.owners,
        ),
    }
    return render(request, "leads/lead_detail.html", context)


def _run(request: HttpRequest, lead: Lead, action: Any, success: str) -> HttpResponse:
    """Call a service, turn its refusals into messages, and go back to the lead (PRG)."""
    try:
        action()
    except services.LeadConflict as conflict:
        _say_conflict(request, conflict)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(lead)


@follows_merges
@login_required
@require_POST
def lead_change_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead = _lead_or_404(request, pk)
    form = StatusForm(request.POST, choices=choices_for(user))
    if not form.is_valid():
        messages.error(
            request, refusal(form, "That status change was not understood; nothing was changed.")
        )
        return redirect(lead)
    data = form.cleaned_data
    reason = LostReason.objects.filter(pk=data["reason"]).first() if data["reason"] else None
    label = Lead.Status(data["status"]).label
    return _run(
        request,
        lead,
        lambda: services.lead_change_status(
            lead=lead,
            actor=user,
            status=data["status"],
            reason=reason,
            expected_version=data["version"],
        ),
        f"Status changed to {label}.",
    )


@follows_merges
@login_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead = _lead_or_404(request, pk)
    if not services.can_assign(user):
        messages.error(request, services.ASSIGN_NOT_ALLOWED)
        return redirect(lead)
    form = AssignForm(request.POST, choices=choices_for(user))
    if not form.is_valid():
        messages.error(request, refusal(form, "Choose someone from the list; nothing was changed."))
        return redirect(lead)
    owner_id = form.cleaned_data["owner"]
    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    return _run(
        request,
        lead,
        lambda: services.lead_assign_owner(
            lead=lead, actor=user, owner=owner, expected_version=form.cleaned_data["version"]
        ),
        f"Assigned to {owner}." if owner else "Moved to the unassigned pool.",
    )


@follows_merges
@login_required
@require_POST
def lead_claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    return _run(
        request,
        lead,
        lambda: services.lead_claim(lead=lead, actor=_user(request)),
        "The lead is yours now.",
    )


@follows_merges
@login_required
@require_POST
def lead_set_next_action(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    form = NextActionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, refusal(form, "Enter the due date as a date and time; nothing was changed.")
        )
        return redirect(lead)
    data = form.cleaned_data
    return _run(
        request,
        lead,
        lambda: followups.next_action_set(
            record=lead,
            actor=_user(request),
            next_action=data["next_action"],
            due=data["next_action_due"],
            expected_version=data["version"],
            create_task=data["create_task"],
        ),
        _next_action_saved(data),
    )


def _next_action_saved(data: dict[str, Any]) -> str:
    if not data["next_action"]:
        return "Next action cleared."
    if data["create_task"]:
        return "Next action saved, and a follow-up task with a reminder created."
    return "Next action saved."


@follows_merges
@login_required
@require_POST
def lead_apply_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: the lead takes the rate its score suggests (an edit, with its history)."""
    lead = _lead_or_404(request, pk)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, refusal(form, "That page was out of date; nothing was changed."))
        return redirect(lead)
    return _run(
        request,
        lead,
        lambda: services.lead_apply_suggested_rate(
            lead=lead, actor=_user(request), expected_version=form.cleaned_data["version"]
        ),
        "Rate set as the score suggests.",
    )


@follows_merges
@login_required
@require_POST
def lead_add_note(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write something in the note; nothing was saved.")
        return redirect(lead)
    data = form.cleaned_data
    kind = LeadNote.Kind(data["kind"]).label
    return _run(
        request,
        lead,
        lambda: services.lead_add_note(lead=lead, actor=_user(request), **data),
        f"{kind} logged.",
    )


# --- Create and edit --------------------------------------------------------------------


def duplicates_for(
    user: User, data: dict[str, Any], exclude_pk: int | None = None
) -> dict[str, Any]:
    """Likely duplicates: the ones the user can open, and how many others exist (and whose).
    The new-lead page and the API's create (``crm.api.leads``) both warn with it."""
    candidates = list(
        Lead.objects.possible_duplicates(
            email=data.get("email") or "",
            phone_normalized=normalize_phone(
                data.get("phone") or "", str(data.get("country") or "")
            ),
            last_name=data.get("last_name") or "",
            company=data.get("company") or "",
            exclude_pk=exclude_pk,
        )
    )
    visible_ids = set(
        Lead.objects.visible_to(user)
        .filter(pk__in=[c.pk for c in candidates])
        .values_list("pk", flat=True)
    )
    hidden = [c for c in candidates if c.pk not in visible_ids]
    return {
        "visible": [c for c in candidates if c.pk in visible_ids],
        "hidden_count": len(hidden),
        "hidden_hints": _hidden_duplicate_hints(user, hidden),
        "contacts": _matching_contacts(user, data),
    }


def _plural(count: int) -> dict[str, str]:
    return {"s": "" if count == 1 else "s", "belong": "belongs" if count == 1 else "belong"}


def _hidden_duplicate_hints(user: User, hidden: list[Lead]) -> list[str]:
    """What the user may know of matching leads they cannot open (see DUPLICATE_*)."""
    if not hidden:
        return []
    teams = team_ids_of(user)
    teammates = set(Membership.objects.filter(team_id__in=teams).values_list("user_id", flat=True))
    in_team = [
        lead
        for lead in hidden
        if (lead.team_id is not None and lead.team_id in teams) or lead.owner_id in teammates
    ]
    elsewhere = [lead for lead in hidden if lead not in in_team]
    hints = []
    if in_team:
        owners = sorted({str(lead.owner) if lead.owner else "nobody yet" for lead in in_team})
        count = len(in_team)
        hints.append(
            DUPLICATE_IN_TEAM.format(count=count, owners=", ".join(owners), **_plural(count))
        )
    if elsewhere:
        managers = sorted(
            str(person)
            for person in User.objects.active()
            .filter(memberships__team_id__in=teams, memberships__role=Membership.Role.MANAGER)
            .exclude(pk=user.pk)
            .distinct()
        )
        count = len(elsewhere)
        hints.append(
            DUPLICATE_ELSEWHERE.format(
                count=count,
                s=_plural(count)["s"],
                is_="is" if count == 1 else "are",
                ask=", ".join(managers) if managers else DUPLICATE_ASK_ADMIN,
            )
        )
    return hints


def _matching_contacts(user: User, data: dict[str, Any]) -> list[Contact]:
    """Contacts the team already works with who have this email or phone."""
    from django.db.models import Q

    email = (data.get("email") or "").strip().lower()
    phone = normalize_phone(data.get("phone") or "", str(data.get("country") or ""))
    match = Q(pk__in=[])
    if email:
        match |= Q(email=email)
    if phone:
        match |= Q(phone_normalized=phone)
    return list(Contact.objects.visible_to(user).filter(match).select_related("company")[:5])


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    choices = choices_for(user)
    form = LeadForm(
        request.POST or None,
        choices=choices,
        can_assign=services.can_assign(user),
        can_create_tags=services.can_create_tags(user),
    )
    duplicates = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("version", None)
        tag_ids = data.pop("tags", [])
        owner_id = data.pop("owner", None)
        found = duplicates_for(user, data)
        duplicated = found["visible"] or found["hidden_count"] or found["contacts"]
        if duplicated and not request.POST.get("save_anyway"):
            duplicates = found
        else:
            owner = User.objects.filter(pk=owner_id).first() if owner_id else None
            try:
                lead = services.lead_create(
                    actor=user,
                    owner=owner,
                    tags=Tag.objects.filter(pk__in=tag_ids),
                    new_tags=data.pop("new_tags", []),
                    **data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Lead {lead.number} created.")
                return redirect(lead)
    return render(
        request, "leads/lead_form.html", {"form": form, "duplicates": duplicates, "lead": None}
    )


@follows_merges
@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead = _lead_or_404(request, pk)
    if lead.status == Lead.Status.CONVERTED:
        messages.error(request, services.CONVERTED_IS_READ_ONLY)
        return redirect(lead)
    if not services.can_work_on(user, lead):
        messages.error(
            request,
            services.CLAIM_FIRST
            if lead.owner_id is None
            else services.NOT_YOUR_LEAD.format(owner=lead.owner),
        )
        return redirect(lead)
    form = LeadForm(
        request.POST or None,
        instance=lead,
        choices=choices_for(user),
        can_assign=False,
        can_create_tags=services.can_create_tags(user),
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")  # required: an edit says what it was based on
        tag_ids = data.pop("tags", [])
        try:
            services.lead_update(
                lead=lead,
                actor=user,
                expected_version=version,
                tags=Tag.objects.filter(pk__in=tag_ids),
                new_tags=data.pop("new_tags", []),
                **data,
            )
        except services.LeadConflict as conflict:
            _say_conflict(request, conflict)
            keep_input_at_version(form, request, conflict.lead.version)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Lead saved.")
            return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})
