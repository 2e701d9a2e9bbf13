"""Contact and company lists: scoped like every deal record, searchable, keyset-paginated,
and a constant number of queries whatever the number of rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from deals import services
from deals.models import Company, Contact

pytestmark = pytest.mark.django_db

CONTACTS = reverse("deals:contacts")
COMPANIES = reverse("deals:companies")


def contact(owner: User, first: str, last: str, **fields: Any) -> Contact:
    return services.contact_create(actor=owner, first_name=first, last_name=last, **fields)


def company(owner: User, name: str, **fields: Any) -> Company:
    return services.company_create(actor=owner, name=name, **fields)


def names(response: Any) -> list[str]:
    return [str(row) for row in response.context["page"].rows]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_rep_sees_their_own_contacts_and_companies_not_another_reps(
    rep: User, rep_b: User, manager: User
) -> None:
    acme = company(rep, "Acme Logistics", domain="acme.example.com")
    ann = contact(rep, "Ann", "Archer", email="ann@acme.example.com", company=acme)
    company(rep_b, "Bolt Dental")
    contact(rep_b, "Ben", "Baker")

    rep_b_client = signed_in(rep_b)
    response = rep_b_client.get(CONTACTS)
    assert response.status_code == 200
    assert names(response) == ["Ben Baker"]
    assert "Ann" not in response.content.decode()
    assert names(rep_b_client.get(COMPANIES)) == ["Bolt Dental"]
    assert names(rep_b_client.get(COMPANIES, {"q": "acme"})) == []
    # Nor can they open it by its address.
    assert rep_b_client.get(reverse("deals:contact", args=[ann.pk])).status_code == 404
    assert rep_b_client.get(reverse("deals:company", args=[acme.pk])).status_code == 404

    # The owner sees theirs, each row linking to its page; the team's manager sees both.
    response = signed_in(rep).get(CONTACTS)
    assert names(response) == ["Ann Archer"]
    assert reverse("deals:contact", args=[ann.pk]) in response.content.decode()
    assert reverse("deals:company", args=[acme.pk]) in response.content.decode()
    assert names(signed_in(manager).get(CONTACTS)) == ["Ann Archer", "Ben Baker"]


def test_contact_search_by_name_company_and_whole_email(rep: User) -> None:
    acme = company(rep, "Acme Logistics")
    contact(rep, "Ann", "Archer", email="ann@acme.example.com", company=acme)
    contact(rep, "Carl", "Cole", email="carl@cole.example.com")
    contact(rep, "Dora", "Acheson", email="dora@dora.example.com")
    client = signed_in(rep)

    assert names(client.get(CONTACTS, {"q": "arch"})) == ["Ann Archer"]
    assert names(client.get(CONTACTS, {"q": "LOGISTICS"})) == ["Ann Archer"]
    assert names(client.get(CONTACTS, {"q": "ann logistics"})) == ["Ann Archer"]
    assert names(client.get(CONTACTS, {"q": "ach"})) == ["Dora Acheson"]
    assert names(client.get(CONTACTS, {"q": "Carl@Cole.example.com"})) == ["Carl Cole"]
    response = client.get(CONTACTS, {"q": "nobody"})
    assert names(response) == []
    assert "No contact matches “nobody”." in response.content.decode()


def test_company_search_by_name_and_domain(rep: User) -> None:
    company(rep, "Acme Logistics", domain="acme.com")
    company(rep, "Bolt Dental", website="https://www.boltdental.io")
    company(rep, "Gmail Fans")
    client = signed_in(rep)

    assert names(client.get(COMPANIES, {"q": "logis"})) == ["Acme Logistics"]
    assert names(client.get(COMPANIES, {"q": "acme.com"})) == ["Acme Logistics"]
    assert names(client.get(COMPANIES, {"q": "https://www.boltdental.io"})) == ["Bolt Dental"]
    assert names(client.get(COMPANIES, {"q": "gmail.com"})) == []  # webmail is no domain
    assert names(client.get(COMPANIES, {"q": "dental bolt"})) == ["Bolt Dental"]


def test_empty_states(rep: User) -> None:
    client = signed_in(rep)
    assert "No contacts yet." in client.get(CONTACTS).content.decode()
    assert "No companies yet." in client.get(COMPANIES).content.decode()


def test_pages_follow_the_cursor_in_name_order(rep: User) -> None:
    for index in range(55):
        contact(rep, "Pat", f"Person {index:02d}")
    client = signed_in(rep)

    first = client.get(CONTACTS)
    page = first.context["page"]
    assert len(page.rows) == 50
    assert first.context["total"] == 55
    assert names(first)[0] == "Pat Person 00"
    second = client.get(CONTACTS, {"cursor": page.next_cursor})
    assert names(second) == [f"Pat Person {index:02d}" for index in range(50, 55)]
    assert not second.context["page"].has_next
    newest = client.get(CONTACTS, {"sort": "-created"})
    assert names(newest)[0] == "Pat Person 54"


@pytest.mark.parametrize(("url", "make"), [(CONTACTS, "contacts"), (COMPANIES, "companies")])
def test_query_count_does_not_grow_with_rows(
    url: str, make: str, rep: User, django_assert_max_num_queries: Any
) -> None:
    def add(count: int, start: int) -> None:
        for index in range(start, start + count):
            firm = company(rep, f"Firm {index}", domain=f"firm{index}.example.com")
            if make == "contacts":
                contact(rep, "Pat", f"Person {index}", company=firm)

    client = signed_in(rep)
    add(2, 0)
    with django_assert_max_num_queries(10) as few:
        response = client.get(url)
    assert len(response.context["page"].rows) == 2
    add(28, 2)
    with django_assert_max_num_queries(10) as many:
        response = client.get(url)
    assert len(response.context["page"].rows) == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_contacts_is_the_active_section_not_deals(rep: User) -> None:
    items = signed_in(rep).get(CONTACTS).context["nav_items"]
    assert [item["label"] for item in items if item["active"]] == ["Contacts"]
