from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from crm.followups import services as followups
from crm.followups import views as task_views
from crm.forms import keep_input_at_version, local_next, refusal
from crm.pagination import Sort, capped_count, keyset_page, warn_if_cursor_invalid
from deals import services
from deals.filters import DealFilter
from deals.forms import (
    AssignForm,
    ConvertForm,
    DealForm,
    DealNoteForm,
    NextActionForm,
    StageForm,
)
from deals.models import Company, Contact, ContactMerge, Deal, DealNote, Stage
from deals.selectors import deal_timeline, forecast_by_month
from leads import services as lead_services
from leads.models import Lead, LostReason
from leads.selectors import choices_for

PER_PAGE = 50
CONTACT_MERGED_AWAY = "{contact} was merged into {survivor}; this is the contact it became."
DEAL_SORTS = {
    sort.key: sort
    for sort in [
        Sort("-created", "Newest first", "created_at", descending=True),
        Sort("close", "Closing soonest", "expected_close_date", nullable=True),
        Sort("created", "Oldest first", "created_at"),
    ]
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _deal_or_404(request: HttpRequest, pk: int, **annotations: Any) -> Deal:
    """Every deal view starts here: a deal the user cannot see is a 404."""
    return get_object_or_404(
        Deal.objects.visible_to(_user(request))
        .select_related("owner", "stage", "company", "contact", "source_lead", "lost_reason")
        .annotate(**annotations),
        pk=pk,
    )


def _back(request: HttpRequest, deal: Deal) -> HttpResponse:
    return redirect(local_next(request) or deal)


def _run(request: HttpRequest, deal: Deal, action: Any, success: str) -> HttpResponse:
    """Call a service and report. htmx callers (the board) get 204, or 400 with the reason
    as plain text; everyone else is redirected back with a message."""
    is_htmx = bool(getattr(request, "htmx", False))
    try:
        action()
    except services.DealConflict as conflict:
        message = f"{services.DEAL_CONFLICT} Reload to see the latest."
        if is_htmx:
            return HttpResponse(message, status=409, content_type="text/plain")
        changed = "; ".join(
            f"{event.actor or 'The system'} {event.get_action_display()}"
            for event in conflict.changes
        )
        messages.warning(request, f"{message} {changed}".strip())
    except ValidationError as error:
        text = " ".join(error.messages)
        if is_htmx:
            return HttpResponse(text, status=400, content_type="text/plain")
        messages.error(request, text)
    else:
        if is_htmx:
            return HttpResponse(status=204)
        messages.success(request, success)
    return _back(request, deal)


# --- List, forecast ---------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def deal_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    choices = choices_for(user)
    visible = Deal.objects.visible_to(user)
    filterset = DealFilter(
        request.GET or None, queryset=visible.for_list(), user=user, choices=choices
    )
    page = keyset_page(
        filterset.qs,
        sort_key=request.GET.get("sort"),
        after=request.GET.get("cursor"),
        before=request.GET.get("before"),
        per_page=PER_PAGE,
        sorts=DEAL_SORTS,
        default_sort="-created",
    )
    warn_if_cursor_invalid(request, page)
    total, more = capped_count(filterset.qs.values("pk"))
    context = {
        "filter": filterset,
        "page": page,
        "total": total,
        "total_is_capped": more,
        "sort_choices": [(sort.key, sort.label) for sort in DEAL_SORTS.values()],
    }
    is_htmx = bool(getattr(request, "htmx", False))
    template = "deals/deal_list.html#results" if is_htmx else "deals/deal_list.html"
    return render(request, template, context)


@login_required
@vary_on_headers("HX-Request")
def deal_forecast(request: HttpRequest) -> HttpResponse:
    """Weighted pipeline (value × probability) by expected close month. The deal list
    asks for the next six months of it after loading (it sums every open deal)."""
    user = _user(request)
    if request.GET.get("part") == "upcoming":
        upcoming = forecast_by_month(
            Deal.objects.visible_to(user), since=timezone.localdate().replace(day=1)
        )[:6]
        return render(request, "deals/deal_list.html#forecast", {"forecast": upcoming})
    months = forecast_by_month(Deal.objects.visible_to(user))
    peak = max((month.weighted for month in months), default=0) or 1
    rows = [{"month": month, "share": int(month.weighted * 100 / peak)} for month in months]
    return render(request, "deals/forecast.html", {"rows": rows, "months": months})


# --- One deal ---------------------------------------------------------------------------


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    # The open tasks come with the deal itself (the panel costs no query of its own).
    deal = _deal_or_404(request, pk, open_tasks=task_views.open_tasks_column(user, "deal"))
    choices = choices_for(user)
    context = {
        "deal": deal,
        "stages": Stage.objects.filter(is_active=True),
        "reasons_choices": [("", "Choose a reason"), *choices.lost_reasons],
        "owners": choices.owners,
        "timeline": deal_timeline(deal),
        "stage_history": deal.stage_changes.select_related("from_stage", "to_stage", "actor"),
        "can_work": lead_services.can_work_on(user, deal),
        "can_assign": lead_services.can_assign(user),
        "note_kinds": DealNote.KINDS,
        "panel": task_views.task_panel(
            user,
            deal,
            task_views.tasks_from_rows(deal.open_tasks, deal),  # type: ignore[attr-defined]
            owners=choices.owners,
        ),
    }
    return render(request, "deals/deal_detail.html", context)


@login_required
@require_POST
def deal_move_stage(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _deal_or_404(request, pk)
    form = StageForm(request.POST, reasons=choices_for(user).lost_reasons)
    if not form.is_valid():
        return _run(request, deal, _refuse(refusal(form, "Choose a stage from the list.")), "")
    data = form.cleaned_data
    reason = LostReason.objects.filter(pk=data["reason"]).first() if data["reason"] else None
    stage: Stage = data["stage"]
    return _run(
        request,
        deal,
        lambda: services.deal_move_stage(
            deal=deal,
            actor=user,
            stage=stage,
            lost_reason=reason,
            expected_version=data["version"],
        ),
        f"Moved to {stage}.",
    )


def _refuse(message: str) -> Any:
    def action() -> None:
        raise ValidationError(message)

    return action


@login_required
@require_POST
def deal_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _deal_or_404(request, pk)
    form = AssignForm(request.POST)
    valid = form.is_valid()
    owner = User.objects.filter(pk=form.cleaned_data["owner"]).first() if valid else None
    if owner is None:
        return _run(request, deal, _refuse(refusal(form, "Choose someone from the list.")), "")
    version = form.cleaned_data["version"]
    return _run(
        request,
        deal,
        lambda: services.deal_assign_owner(
            deal=deal, actor=user, owner=owner, expected_version=version
        ),
        f"Assigned to {owner}.",
    )


@login_required
@require_POST
def deal_add_note(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    form = DealNoteForm(request.POST)
    if not form.is_valid():
        return _run(request, deal, _refuse("Write something in the note; nothing was saved."), "")
    return _run(
        request,
        deal,
        lambda: services.deal_add_note(deal=deal, actor=_user(request), **form.cleaned_data),
        "Note added.",
    )


@login_required
@require_POST
def deal_set_next_action(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    form = NextActionForm(request.POST)
    if not form.is_valid():
        message = refusal(form, "Enter the due date as a date and time.")
        return _run(request, deal, _refuse(message), "")
    data = form.cleaned_data
    return _run(
        request,
        deal,
        lambda: followups.next_action_set(
            record=deal,
            actor=_user(request),
            next_action=data["next_action"],
            due=data["next_action_due"],
            expected_version=data["version"],
            create_task=data["create_task"],
        ),
        "Next action saved, and a follow-up task with a reminder created."
        if data["create_task"] and data["next_action"]
        else "Next action saved.",
    )


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _deal_or_404(request, pk)
    if not lead_services.can_work_on(user, deal):
        messages.error(request, lead_services.NOT_YOUR_LEAD.format(owner=deal.owner))
        return redirect(deal)
    form = DealForm(request.POST or None, instance=deal)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.DEAL_EDITABLE_FIELDS}
        try:
            services.deal_update(
                deal=deal, actor=user, expected_version=form.cleaned_data["version"], **data
            )
        except services.DealConflict as conflict:
            messages.warning(request, f"{services.DEAL_CONFLICT} Reload to see the latest.")
            keep_input_at_version(form, request, conflict.deal.version)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Deal saved.")
            return redirect(deal)
    return render(request, "deals/deal_form.html", {"deal": deal, "form": form})


# --- Conversion -------------------------------------------------------------------------


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Qualified lead → deal, with its contact and company created or linked."""
    user = _user(request)
    lead = get_object_or_404(Lead.objects.visible_to(user).select_related("owner"), pk=pk)
    contacts = services.matching_contacts(user, lead)
    companies = services.matching_companies(user, lead)
    form = ConvertForm(
        request.POST or None,
        initial={
            "title": services.proposed_deal_title(lead, companies[0] if companies else None),
            "value": lead.estimated_value,
            "version": lead.version,
            "contact": contacts[0].pk if contacts else None,
            "company": companies[0].pk if companies else None,
        },
        owners=choices_for(user).owners if lead_services.can_assign(user) else [],
        contacts=[(c.pk, f"{c} · {c.email or c.phone}") for c in contacts],
        companies=[(c.pk, f"{c} · {c.domain}" if c.domain else str(c)) for c in companies],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.lead_convert(
                lead=lead,
                actor=user,
                title=data["title"],
                value=data["value"],
                stage=data["stage"],
                expected_close_date=data["expected_close_date"],
                owner=User.objects.filter(pk=data["owner"]).first() if data["owner"] else None,
                contact=next((c for c in contacts if c.pk == data["contact"]), None),
                company=next((c for c in companies if c.pk == data["company"]), None),
                expected_version=data["version"],
            )
        except lead_services.LeadConflict:
            messages.warning(request, lead_services.CONFLICT + " Check it and convert again.")
            return redirect(lead)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{lead.number} converted: deal “{deal.title}” created.")
            return redirect(deal)
    return render(
        request,
        "deals/convert.html",
        {"lead": lead, "form": form, "contacts": contacts, "companies": companies},
    )


# --- Contacts and companies: detail pages (lists live with their search) ---------------


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact = (
        Contact.objects.visible_to(user).select_related("company", "owner").filter(pk=pk).first()
    )
    if contact is None:
        # A contact merged into another: its URL leads to the survivor.
        scoped = Contact.objects.visible_with_merged(user)
        merged = scoped.filter(pk=pk, merged_into__isnull=False).first()
        survivor = scoped.survivor_of(merged) if merged is not None else None
        if survivor is None:
            raise Http404("No contact matches the given query.")
        messages.info(request, CONTACT_MERGED_AWAY.format(contact=merged, survivor=survivor))
        return redirect(survivor)
    deals = Deal.objects.visible_to(user).filter(contact=contact).select_related("stage")
    match = Q(pk__in=[])
    if contact.email:
        match |= Q(email=contact.email)
    if contact.phone_normalized:
        match |= Q(phone_normalized=contact.phone_normalized)
    duplicates = Contact.objects.visible_to(user).filter(match).exclude(pk=contact.pk)[:10]
    return render(
        request,
        "deals/contact_detail.html",
        {
            "contact": contact,
            "deals": deals,
            "duplicates": duplicates,
            "merge_ids": ",".join(str(c.pk) for c in [contact, *duplicates]),
            "merges": ContactMerge.objects.filter(
                survivor=contact, undone_at__isnull=True, survivor_version=contact.version
            ).select_related("actor")[:5],
        },
    )


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    company = get_object_or_404(Company.objects.visible_to(user).select_related("owner"), pk=pk)
    match = Q(name__iexact=company.name)
    if company.domain:
        match |= Q(domain=company.domain)
    context = {
        "company": company,
        "duplicates": Company.objects.visible_to(user).filter(match).exclude(pk=company.pk)[:10],
        "contacts": Contact.objects.visible_to(user).filter(company=company),
        "deals": Deal.objects.visible_to(user).filter(company=company).select_related("stage"),
    }
    return render(request, "deals/company_detail.html", context)
