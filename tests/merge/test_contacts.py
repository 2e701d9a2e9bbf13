"""Contacts merge like leads: the same pages, and a contact's deals follow the survivor."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from deals.merge import services
from deals.models import Company, Contact, ContactMerge, Deal
from deals.services import company_create, contact_create
from tests.deals.helpers import make_deal

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(contact: Contact) -> Contact:
    return Contact.objects.get(pk=contact.pk)


def merge(actor: User, survivor: Contact, *others: Contact, **kwargs: Any) -> ContactMerge:
    contacts = [fresh(survivor), *(fresh(o) for o in others)]
    return services.contacts_merge(
        actor=actor,
        survivor=contacts[0],
        others=contacts[1:],
        versions={c.pk: c.version for c in contacts},
        **kwargs,
    )


@pytest.fixture
def acme(rep: User) -> Company:
    return company_create(actor=rep, name="Acme")


@pytest.fixture
def pair(rep: User, acme: Company) -> tuple[Contact, Contact, Deal]:
    old = contact_create(actor=rep, first_name="Ann", last_name="Lee", email="ann@acme.com")
    new = contact_create(
        actor=rep, first_name="Ann", last_name="Lee", email="ann@acme.com", company=acme
    )
    deal = make_deal(rep, email="someone@acme.com")
    Deal.objects.filter(pk=deal.pk).update(contact=new)
    return old, new, deal


def test_deals_follow_the_survivor_and_undo_brings_them_back(
    rep: User, pair: tuple[Contact, Contact, Deal], acme: Company
) -> None:
    old, new, deal = pair
    record = merge(rep, old, new)
    assert Deal.objects.get(pk=deal.pk).contact_id == old.pk
    assert fresh(old).company == acme
    assert fresh(new).merged_into_id == old.pk
    assert list(Contact.objects.visible_to(rep).filter(pk__in=[old.pk, new.pk])) == [fresh(old)]
    services.contact_merge_undo(actor=rep, merge=record)
    assert Deal.objects.get(pk=deal.pk).contact_id == new.pk
    assert fresh(old).company is None
    assert fresh(new).merged_into_id is None


def test_stale_versions_and_scope_are_refused(
    rep: User, rep_b: User, pair: tuple[Contact, Contact, Deal]
) -> None:
    old, new, _deal = pair
    with pytest.raises(ValidationError) as refused:
        services.contacts_merge(
            actor=rep, survivor=old, others=[new], versions={old.pk: old.version, new.pk: 99}
        )
    assert refused.value.messages == [services.CONTACTS_STALE.format(names=new)]
    with pytest.raises(ValidationError) as refused:
        merge(rep_b, old, new)
    assert refused.value.messages == [services.CONTACTS_NOT_FOUND.format(count=2)]


def test_the_pages(
    rep: User,
    manager: User,
    pair: tuple[Contact, Contact, Deal],
    django_assert_max_num_queries: Any,
) -> None:
    old, new, deal = pair
    assert client_for(rep).get(reverse("deals:contact_duplicates")).status_code == 403
    client = client_for(manager)
    client.get(reverse("deals:contact_duplicates"))
    with django_assert_max_num_queries(8):
        page = client.get(reverse("deals:contact_duplicates"))
    assert [len(group.leads) for group in page.context["page"].groups] == [2]
    detail = client.get(old.get_absolute_url())
    assert f"{reverse('deals:contact_merge')}?ids={old.pk},{new.pk}" in detail.content.decode()
    preview = client.get(reverse("deals:contact_merge"), {"ids": f"{old.pk},{new.pk}"})
    assert preview.status_code == 200
    data = {
        "ids": f"{old.pk},{new.pk}",
        "survivor": str(old.pk),
        f"version_{old.pk}": str(old.version),
        f"version_{new.pk}": str(new.version),
    }
    done = client.post(reverse("deals:contact_merge"), data)
    assert done["Location"] == old.get_absolute_url()
    moved = client.get(new.get_absolute_url())
    assert moved.status_code == 302
    assert moved["Location"] == old.get_absolute_url()
    record = ContactMerge.objects.get()
    page = client.get(old.get_absolute_url())
    assert reverse("deals:contact_merge_undo", args=[record.pk]) in page.content.decode()
    client.post(reverse("deals:contact_merge_undo", args=[record.pk]))
    assert fresh(new).merged_into_id is None
    assert Deal.objects.get(pk=deal.pk).contact_id == new.pk


def test_contacts_by_name_at_the_same_company(manager: User, rep: User, acme: Company) -> None:
    contact_create(actor=rep, first_name="Bo", last_name="Ng", company=acme)
    contact_create(actor=rep, first_name="Bo", last_name="NG", company=acme)
    contact_create(actor=rep, first_name="Bo", last_name="Ng")
    page = client_for(manager).get(reverse("deals:contact_duplicates"), {"by": "name"})
    groups = page.context["page"].groups
    assert [len(group.leads) for group in groups] == [2]
    assert groups[0].confidence == 85
