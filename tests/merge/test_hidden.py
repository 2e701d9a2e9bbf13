"""A merged-away lead is kept but no longer worked: no list, count, scan or duplicate check
sees it, and its URL leads to the lead it was merged into."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import User
from leads import views
from leads.capture.services import find_known_lead
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def merge_by_hand(lead: Lead, survivor: Lead) -> None:
    Lead.objects.filter(pk=lead.pk).update(merged_into=survivor, merged_at=now())


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pair(rep: User) -> tuple[Lead, Lead]:
    survivor = make_lead(rep, last_name="Keep", email="same@example.com", phone="+4930123456")
    gone = make_lead(rep, last_name="Gone", email="same@example.com", phone="+4930123456")
    merge_by_hand(gone, survivor)
    return survivor, gone


def test_hidden_from_scope_open_and_contact_matches(rep: User, pair: tuple[Lead, Lead]) -> None:
    survivor, _gone = pair
    assert list(Lead.objects.visible_to(rep)) == [survivor]
    assert list(Lead.objects.open()) == [survivor]
    assert list(Lead.objects.same_contact(email="same@example.com")) == [survivor]
    assert find_known_lead("same@example.com", "") == survivor
    assert list(Lead.objects.possible_duplicates(email="same@example.com")) == [survivor]
    assert Lead.objects.visible_with_merged(rep).count() == 2


def test_hidden_from_the_list_and_its_count(rep: User, pair: tuple[Lead, Lead]) -> None:
    survivor, gone = pair
    page = client_for(rep).get(reverse("leads:list"))
    assert [row.pk for row in page.context["page"].rows] == [survivor.pk]
    assert page.context["total"] == 1
    assert gone.number not in page.content.decode()


def test_its_url_redirects_to_the_survivor(rep: User, pair: tuple[Lead, Lead]) -> None:
    survivor, gone = pair
    client = client_for(rep)
    for url in (reverse("leads:detail", args=[gone.pk]), reverse("leads:edit", args=[gone.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == survivor.get_absolute_url()
    page = client.get(reverse("leads:detail", args=[gone.pk]), follow=True)
    assert views.MERGED_AWAY.format(lead=gone.number, survivor=survivor.number) in [
        str(m) for m in page.context["messages"]
    ]


def test_an_action_posted_to_it_does_nothing(rep: User, pair: tuple[Lead, Lead]) -> None:
    survivor, gone = pair
    response = client_for(rep).post(
        reverse("leads:note", args=[gone.pk]), {"kind": "note", "body": "hello"}
    )
    assert response.status_code == 302
    assert response["Location"] == survivor.get_absolute_url()
    assert not survivor.notes.exists()
    assert not gone.notes.exists()


def test_merges_of_merges_lead_to_the_last_survivor(rep: User, pair: tuple[Lead, Lead]) -> None:
    survivor, gone = pair
    final = make_lead(rep, last_name="Final")
    merge_by_hand(survivor, final)
    response = client_for(rep).get(reverse("leads:detail", args=[gone.pk]))
    assert response["Location"] == final.get_absolute_url()


def test_another_reps_merged_lead_is_still_a_404(
    rep: User, rep_b: User, pair: tuple[Lead, Lead]
) -> None:
    _survivor, gone = pair
    assert client_for(rep_b).get(reverse("leads:detail", args=[gone.pk])).status_code == 404
