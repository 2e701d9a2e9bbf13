"""Send a follow-up email from a lead or a deal; manage one's own email templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from crm.followups.emails import services as emails
from crm.followups.emails.forms import EmailForm, PersonalTemplateForm, TemplatePickForm
from crm.followups.models import EmailTemplate
from deals.models import Deal
from leads import services
from leads.models import Lead

# Shown when the edited text still has placeholders in it (the user may mean them).
PLACEHOLDERS_LEFT = "The message still contains {placeholders}: replace them, or send it as it is."
TEMPLATE_SAVED = "Template “{name}” saved."
TEMPLATE_DELETED = "Template “{name}” deleted."


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@dataclass
class Compose:
    """What differs between emailing a lead and emailing a deal."""

    record: Lead | Deal
    values: dict[str, str]
    to: str
    send: Callable[..., Any]
    refusal: str | None


def _refusal(user: User, record: Any, *, converted: bool = False) -> str | None:
    """Why this user may not email from this record, if they may not (checked again when
    sending; this only spares them writing a message that would be refused)."""
    if converted:
        return services.CONVERTED_IS_READ_ONLY
    try:
        services.require_work(user, record)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def lead_email(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead = get_object_or_404(Lead.objects.visible_to(user).select_related("owner"), pk=pk)
    compose = Compose(
        record=lead,
        values=emails.placeholder_values(sender=user, lead=lead),
        to=emails.default_recipient(lead=lead),
        send=lambda **message: emails.lead_send_email(lead=lead, actor=user, **message),
        refusal=_refusal(user, lead, converted=lead.status == Lead.Status.CONVERTED),
    )
    return _compose(request, compose, {"lead": lead})


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def deal_email(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = get_object_or_404(
        Deal.objects.visible_to(user).select_related(
            "owner", "stage", "contact", "company", "source_lead"
        ),
        pk=pk,
    )
    compose = Compose(
        record=deal,
        values=emails.placeholder_values(sender=user, deal=deal),
        to=emails.default_recipient(deal=deal),
        send=lambda **message: emails.deal_send_email(deal=deal, actor=user, **message),
        refusal=_refusal(user, deal),
    )
    return _compose(request, compose, {"deal": deal})


def _compose(request: HttpRequest, compose: Compose, context: dict[str, Any]) -> HttpResponse:
    is_htmx = bool(getattr(request, "htmx", False))
    if compose.refusal:
        messages.error(request, compose.refusal)
        target = compose.record.get_absolute_url()
        return HttpResponseClientRedirect(target) if is_htmx else redirect(target)
    templates = list(emails.templates_for(_user(request)))
    pick = TemplatePickForm(request.GET or None, templates=templates)
    warnings: list[str] = []
    placeholders_left: list[str] = []
    if request.method == "POST":
        form = EmailForm(request.POST)
        if form.is_valid():
            message = form.cleaned_data
            placeholders_left = [
                match.group(0)
                for match in emails.PLACEHOLDER.finditer(message["subject"] + message["body"])
            ]
            if placeholders_left and not request.POST.get("send_anyway"):
                names = ", ".join(dict.fromkeys(placeholders_left))
                warnings.append(PLACEHOLDERS_LEFT.format(placeholders=names))
            else:
                try:
                    compose.send(**message)
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    messages.success(request, emails.EMAIL_SENT.format(to=message["to"].strip()))
                    return redirect(compose.record)
    else:
        initial = {"to": request.GET.get("to") or compose.to}
        template = pick.chosen()
        if template is not None:
            rendered = emails.render_template(template, compose.values)
            initial.update(subject=rendered.subject, body=rendered.body)
            warnings = rendered.warnings
        form = EmailForm(initial=initial)
    context.update(
        record=compose.record,
        form=form,
        pick=pick,
        warnings=warnings,
        can_send_anyway=bool(placeholders_left),
        has_templates=bool(templates),
    )
    page = "emails/compose.html#fields" if is_htmx else "emails/compose.html"
    return render(request, page, context)


# --- A user's own templates -------------------------------------------------------------


def _own_template_or_404(request: HttpRequest, pk: int) -> EmailTemplate:
    """Someone else's template (or a team's) is a 404 here, never a 403."""
    return get_object_or_404(EmailTemplate.objects.filter(owner_id=_user(request).pk), pk=pk)


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    available = list(emails.templates_for(user))
    context = {
        "mine": list(EmailTemplate.objects.filter(owner_id=user.pk).order_by("name", "id")),
        "shared": [template for template in available if template.owner_id is None],
        "placeholders": emails.PLACEHOLDERS,
    }
    return render(request, "emails/template_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_form(request, _own_template_or_404(request, pk))


def _template_form(request: HttpRequest, template: EmailTemplate | None) -> HttpResponse:
    user = _user(request)
    form = PersonalTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in emails.TEMPLATE_FIELDS}
        try:
            if template is None:
                saved = emails.email_template_create(actor=user, **data)
            else:
                saved = emails.email_template_update(template=template, actor=user, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, TEMPLATE_SAVED.format(name=saved.name))
            return redirect("leads:email_templates")
    context = {"form": form, "template": template, "placeholders": emails.PLACEHOLDERS}
    return render(request, "emails/template_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = _own_template_or_404(request, pk)
    if request.method == "POST":
        emails.email_template_delete(template=template, actor=_user(request))
        messages.success(request, TEMPLATE_DELETED.format(name=template.name))
        return redirect("leads:email_templates")
    return render(request, "emails/template_confirm_delete.html", {"template": template})
