"""Contacts' duplicates page, merge preview and undo: the lead pages' code
(``leads.merge.views``), with a contact's ``MergeKind``."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from accounts.models import User
from deals.merge import services
from deals.models import Contact, ContactMerge
from leads.merge.views import MergeKind, duplicates_page, preview_page, undo_page

CONTACTS = MergeKind(
    noun="contacts",
    scoped=lambda user: Contact.objects.visible_to(user).select_related("owner", "company"),
    fields=services.CONTACT_MERGE_FIELDS,
    merge=services.contacts_merge,
    preview_url="deals:contact_merge",
    duplicates_url="deals:contact_duplicates",
    list_url="deals:contacts",
    company="company__name",
    moves="Their deals",
)


@login_required
def contact_duplicates(request: HttpRequest) -> HttpResponse:
    return duplicates_page(request, CONTACTS)


@login_required
def contact_merge(request: HttpRequest) -> HttpResponse:
    return preview_page(request, CONTACTS)


@login_required
@require_POST
def contact_merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    return undo_page(
        request,
        ContactMerge.objects.filter(survivor__in=Contact.objects.visible_to(user)),
        pk,
        services.contact_merge_undo,
        lambda ids: ", ".join(str(contact) for contact in Contact.objects.filter(pk__in=ids)),
    )
