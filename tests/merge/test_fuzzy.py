"""Similar name and company on the duplicates page: trigram similarity within a company,
scoped, paged, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Team, User
from leads.merge import selectors
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def similar_page(user: User, **params: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(reverse("leads:duplicates"), {"by": "similar", **params})


def ids(groups: list[selectors.DuplicateGroup]) -> list[set[int]]:
    return [{lead.pk for lead in group.leads} for group in groups]


def test_a_misspelt_name_at_the_same_company_groups_with_the_original(
    manager: User, rep: User
) -> None:
    john = make_lead(rep, first_name="John", last_name="Smith", company="ACME Corp.")
    jon = make_lead(rep, first_name="Jon", last_name="Smyth", company="Acme Corp")
    make_lead(rep, first_name="Jane", last_name="Doe", company="Acme Corp")
    make_lead(rep, first_name="John", last_name="Smith", company="Globex")
    make_lead(rep, first_name="Maria", last_name="Garcia", company="Acme, Inc.")
    page = similar_page(manager)
    assert page.status_code == 200
    groups = page.context["page"].groups
    assert ids(groups) == [{john.pk, jon.pk}]
    assert groups[0].reason == "Similar name and company"
    assert 50 <= groups[0].confidence < 90
    shown = page.content.decode()
    assert "Similar name and company" in shown
    assert f"{groups[0].confidence}% likely" in shown
    assert f"{reverse('leads:merge')}?ids={john.pk},{jon.pk}" in shown


def test_the_same_name_at_the_same_company_is_the_surest(manager: User, rep: User) -> None:
    make_lead(rep, first_name="Ann", last_name="Lee", company="Initech")
    make_lead(rep, first_name="Ann", last_name="Lee", company="INITECH LLC")
    [group] = similar_page(manager).context["page"].groups
    assert group.confidence == 90


def test_pairs_with_the_same_email_are_left_to_the_email_groups(manager: User, rep: User) -> None:
    make_lead(rep, first_name="John", last_name="Smith", company="Acme", email="j@acme.com")
    make_lead(rep, first_name="Jon", last_name="Smyth", company="Acme", email="J@acme.com")
    assert similar_page(manager).context["page"].groups == []


def test_a_manager_sees_only_their_teams_groups(
    manager: User, other_manager: User, rep: User
) -> None:
    mine = make_lead(rep, first_name="John", last_name="Smith", company="Acme Corp")
    make_lead(other_manager, first_name="Jon", last_name="Smyth", company="Acme Corp")
    make_lead(other_manager, first_name="Bea", last_name="Kay", company="Umbrella")
    make_lead(other_manager, first_name="Bea", last_name="Kaye", company="Umbrella")
    assert similar_page(manager).context["page"].groups == []
    make_lead(rep, first_name="Johnny", last_name="Smith", company="ACME corp")
    [group] = similar_page(manager).context["page"].groups
    assert mine in group.leads
    assert len(group.leads) == 2
    assert ids(similar_page(other_manager).context["page"].groups) == [
        set(Lead.objects.filter(company="Umbrella").values_list("pk", flat=True))
    ]


def test_merged_away_leads_are_not_candidates(manager: User, rep: User) -> None:
    from tests.merge.helpers import merge

    john = make_lead(rep, first_name="John", last_name="Smith", company="Acme")
    jon = make_lead(rep, first_name="Jon", last_name="Smyth", company="Acme")
    merge(rep, john, jon)
    assert similar_page(manager).context["page"].groups == []


def test_pages_read_a_bounded_number_of_leads_in_constant_queries(
    manager: User, rep: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(25):
        make_lead(rep, first_name="Kim", last_name=f"Park{n:02}", company=f"Firm {n:02}")
        make_lead(rep, first_name="Kim", last_name=f"Parks{n:02}", company=f"firm {n:02}.")
    similar_page(manager)  # warm the session and content types
    client = Client()
    client.force_login(manager)
    with django_assert_max_num_queries(11):
        first = client.get(reverse("leads:duplicates"), {"by": "similar"})
    page = first.context["page"]
    assert len(page.groups) == selectors.GROUP_PAGE
    second = similar_page(manager, after=page.next_cursor).context["page"]
    assert len(second.groups) == 5
    assert second.next_cursor is None
    seen = [frozenset(g) for g in ids(page.groups) + ids(second.groups)]
    assert len(set(seen)) == 25


def test_a_page_that_reads_no_pair_still_offers_more(manager: User, rep: User) -> None:
    for n in range(4):
        make_lead(rep, first_name="Solo", last_name=f"Nobody{n}", company=f"Alone {n}")
    make_lead(rep, first_name="Kim", last_name="Park", company="Zeta")
    make_lead(rep, first_name="Kim", last_name="Parks", company="Zeta")
    lone = Lead.objects.visible_to(manager).order_by()
    first = selectors.similar_groups(lone, candidates=3)
    assert first.groups == []
    assert first.next_cursor
    rest = selectors.similar_groups(lone, after=first.next_cursor, candidates=10)
    assert len(rest.groups) == 1
    assert rest.next_cursor is None
    page = similar_page(manager, after="not a cursor")
    assert page.status_code == 200
    assert len(page.context["page"].groups) == 1


def test_a_search_stopped_by_its_timeout_says_so_instead_of_failing(
    manager: User, rep: User, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout is a backstop: when it fires, the page says what happened (never a
    500). Two hundred leads at one company and a timeout of a millisecond make it fire."""
    Lead.objects.bulk_create(
        [
            Lead(
                number=f"T-{i:05}",
                first_name=f"Name{i}",
                last_name=f"Surname{i % 7}",
                company="Acme",
                email=f"t{i}@example.com",
                owner=rep,
                team=team,
            )
            for i in range(200)
        ]
    )
    monkeypatch.setattr(selectors, "SIMILAR_TIMEOUT", "1")
    page = similar_page(manager)
    assert page.status_code == 200
    assert page.context["page"].groups == []
    assert "took too long" in page.content.decode()
