"""Duplicate hints never say who handles a lead in another team: within the rep's team the
owner is named (they can just ask), across teams only that it is handled elsewhere and
whom to ask (the rep's managers, by name). The lead page's hints and the contact matches
only ever list what the user can open."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Team, User
from accounts.roles import Role
from leads import views
from leads.models import Lead
from tests.deals.helpers import make_deal
from tests.factories import add_to_team, make_lead, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def south_rep(other_team: Team) -> User:
    return add_to_team(
        other_team,
        make_user(email="south.rep@example.com", first_name="Sven", last_name="Secret"),
    )


@pytest.fixture
def southern_lead(south_rep: User) -> Lead:
    return make_lead(
        south_rep, first_name="Rita", last_name="Twin", company="Acme", email="rita@acme.com"
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def warning(user: User, **fields: str) -> str:
    data = {"first_name": "Rita", "last_name": "New", "email": "rita@acme.com", **fields}
    response = client_for(user).post(reverse("leads:create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="duplicate-warning"' in html
    return html


def test_another_teams_owner_is_not_named_the_reps_managers_are(
    rep: User, manager: User, south_rep: User, southern_lead: Lead
) -> None:
    html = warning(rep)
    assert str(south_rep) not in html
    assert south_rep.email not in html
    assert southern_lead.number not in html
    hint = views.DUPLICATE_ELSEWHERE.format(count=1, s="", is_="is", ask=str(manager))
    assert hint in html
    assert Lead.objects.count() == 1


def test_with_no_manager_the_rep_is_told_to_ask_an_admin(
    south_rep: User, southern_lead: Lead, other_team: Team
) -> None:
    loner = make_user(email="loner@example.com", role=Role.REP)
    html = warning(loner)
    assert str(south_rep) not in html
    assert views.DUPLICATE_ELSEWHERE.format(count=1, s="", is_="is", ask="an admin") in html


def test_a_manager_is_not_told_another_teams_owner_either(
    manager: User, rep: User, south_rep: User, southern_lead: Lead
) -> None:
    html = warning(manager)
    assert str(south_rep) not in html
    assert "already being handled elsewhere" in html
    assert f"Ask {manager}" not in html  # not themselves


def test_a_teammates_lead_names_its_owner(rep: User, rep_b: User, manager: User) -> None:
    mine = make_lead(rep_b, first_name="Rita", last_name="Twin", email="rita@acme.com")
    html = warning(rep)
    assert views.DUPLICATE_IN_TEAM.format(count=1, s="", belong="belongs", owners=rep_b) in html
    assert mine.number not in html  # still no link or details: rep A cannot open it


def test_both_kinds_at_once(rep: User, rep_b: User, manager: User, south_rep: User) -> None:
    make_lead(rep_b, first_name="Rita", last_name="Twin", email="rita@acme.com")
    make_lead(south_rep, first_name="Rita", last_name="Twin", email="rita@acme.com")
    make_lead(south_rep, first_name="Rita", last_name="Other", phone="+44 20 7946 0000")
    html = warning(rep, phone="+44 20 7946 0000")
    assert f"belongs to {rep_b}" in html
    assert "2 matching leads are already being handled elsewhere" in html
    assert str(south_rep) not in html


def test_the_lead_page_and_contact_matches_list_only_what_the_user_opens(
    rep: User, manager: User, south_rep: User, southern_lead: Lead
) -> None:
    own = make_lead(rep, first_name="Rita", last_name="Mine", email="rita@acme.com")
    html = client_for(rep).get(reverse("leads:detail", args=[own.pk])).content.decode()
    assert southern_lead.number not in html
    assert str(south_rep) not in html
    # A South deal's contact is South's, not something to hint at.
    make_deal(south_rep, email="deal.contact@acme.com", first_name="Dee", last_name="Hidden")
    html = warning(rep, email="deal.contact@acme.com")
    assert "Dee Hidden" not in html
    assert "Already a contact" not in html
