"""Contacts and companies: searchable, keyset-paginated lists, scoped like every deal record
(``visible_to``). Each row links to the record's page (``deals:contact``, ``deals:company``).

Search is ``icontains`` on names (fine at this scale: a contact table a tenth of the leads'),
except where a query names one record exactly: a full email address is looked up by its
index (``contact_email_idx``), a domain by ``company_domain_idx``.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from crm.pagination import Sort, capped_count, keyset_page, warn_if_cursor_invalid
from deals.models import Company, Contact
from deals.services import domain_of

PER_PAGE = 50
MAX_TERMS = 4
CONTACT_SORTS = {
    sort.key: sort
    for sort in [
        Sort("name", "Last name A–Z", "last_name"),
        Sort("-created", "Newest first", "created_at", descending=True),
    ]
}
COMPANY_SORTS = {
    sort.key: sort
    for sort in [
        Sort("name", "Name A–Z", "name"),
        Sort("-created", "Newest first", "created_at", descending=True),
    ]
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN = re.compile(r"^(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+/?$", re.IGNORECASE)


def _terms(query: str) -> list[str]:
    return query.split()[:MAX_TERMS]


def search_contacts(contacts: QuerySet[Contact], query: str) -> QuerySet[Contact]:
    """A whole email address: that contact (emails are stored lower-case). Otherwise every
    word must appear in the first or last name, the email or the company's name."""
    query = query.strip()
    if not query:
        return contacts
    if EMAIL.match(query):
        return contacts.filter(email=query.lower())
    for term in _terms(query):
        contacts = contacts.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__name__icontains=term)
        )
    return contacts


def search_companies(companies: QuerySet[Company], query: str) -> QuerySet[Company]:
    """A domain (``acme.com``, ``https://www.acme.com``): the company with that domain, or
    one named exactly that. Otherwise every word must appear in the name."""
    query = query.strip()
    if not query:
        return companies
    if DOMAIN.match(query):
        domain = domain_of(query)  # "" for webmail: no company has that domain
        return companies.filter((Q(domain=domain) & ~Q(domain="")) | Q(name__iexact=query))
    for term in _terms(query):
        companies = companies.filter(name__icontains=term)
    return companies


def _listing(
    request: HttpRequest, queryset: QuerySet[Any], sorts: dict[str, Sort]
) -> dict[str, Any]:
    query = request.GET.get("q", "").strip()
    page = keyset_page(
        queryset,
        sort_key=request.GET.get("sort"),
        after=request.GET.get("cursor"),
        before=request.GET.get("before"),
        per_page=PER_PAGE,
        sorts=sorts,
        default_sort="name",
    )
    warn_if_cursor_invalid(request, page)
    if page.has_next or page.has_previous:
        total, capped = capped_count(queryset.values("pk"))
    else:  # everything is on this page: no count query
        total, capped = len(page.rows), False
    return {
        "q": query,
        "page": page,
        "total": total,
        "total_is_capped": capped,
        "sort_choices": [(sort.key, sort.label) for sort in sorts.values()],
    }


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    contacts = search_contacts(
        Contact.objects.visible_to(user).select_related("company", "owner"),
        request.GET.get("q", ""),
    )
    return render(request, "deals/contact_list.html", _listing(request, contacts, CONTACT_SORTS))


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    companies = search_companies(
        Company.objects.visible_to(user).select_related("owner"), request.GET.get("q", "")
    )
    return render(request, "deals/company_list.html", _listing(request, companies, COMPANY_SORTS))
