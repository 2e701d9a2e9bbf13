"""Deal, contact and company pages: who sees what, conversion, list, forecast."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from deals import services
from deals.models import Deal, Stage
from leads.models import Lead
from tests.deals.helpers import ensure_stages, make_deal, qualified_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages() -> dict[str, Stage]:
    return ensure_stages()


@pytest.fixture
def deal(rep: User, stages: dict[str, Stage]) -> Deal:
    return make_deal(rep, company="Initech", email="peter@initech.com")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


SEES = {"rep": True, "rep_b": False, "manager": True, "other_manager": False, "admin": True}


@pytest.mark.parametrize("actor", SEES)
def test_deal_contact_and_company_pages_are_404_for_those_who_cannot_see_them(
    request: pytest.FixtureRequest, actor: str, deal: Deal, stages: dict[str, Stage]
) -> None:
    sees = SEES[actor]
    client = client_for(request.getfixturevalue(actor))
    expected = 200 if sees else 404
    assert client.get(reverse("deals:detail", args=[deal.pk])).status_code == expected
    assert client.get(reverse("deals:contact", args=[deal.contact_id])).status_code == expected
    assert client.get(reverse("deals:company", args=[deal.company_id])).status_code == expected
    assert (deal.title in client.get(reverse("deals:list")).content.decode()) is sees
    posts = [
        ("stage", {"stage": stages["Proposal sent"].pk, "version": deal.version}),
        ("note", {"kind": "note", "body": "hi"}),
        ("next_action", {"next_action": "", "next_action_due": "", "version": 99}),
    ]
    for name, data in posts:
        response = client.post(reverse(f"deals:{name}", args=[deal.pk]), data)
        assert response.status_code == (302 if sees else 404), name
    deal.refresh_from_db()
    assert (deal.stage == stages["Proposal sent"]) is sees


def test_the_convert_page_offers_existing_records_first(
    rep: User, deal: Deal, stages: dict[str, Stage]
) -> None:
    lead = qualified_lead(rep, company="Initech", email="peter@initech.com")
    html = client_for(rep).get(reverse("leads:convert", args=[lead.pk])).content.decode()
    assert "We found records you already have" in html
    assert f'<option value="{deal.contact_id}" selected' in html
    assert f'<option value="{deal.company_id}" selected' in html


def test_convert_through_the_page(rep: User, stages: dict[str, Stage]) -> None:
    lead = qualified_lead(rep, company="Umbrella", estimated_value=Decimal("777"))
    client = client_for(rep)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Convert to deal" in page
    response = client.post(
        reverse("leads:convert", args=[lead.pk]),
        {
            "title": "Umbrella deal",
            "value": "777",
            "stage": stages["Meeting set"].pk,
            "version": lead.version,
        },
    )
    deal = Deal.objects.get(source_lead=lead)
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert deal.value == Decimal("777")
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Open its deal" in page
    assert "Convert to deal" not in page


def test_converting_a_lead_that_is_not_qualified_says_why(rep: User, stages) -> None:
    from tests.factories import make_lead

    lead = make_lead(rep)
    response = client_for(rep).post(
        reverse("leads:convert", args=[lead.pk]),
        {"title": "Nope", "value": "1", "stage": stages["Meeting set"].pk, "version": lead.version},
    )
    assert response.status_code == 200
    assert services.CONVERT_NOT_QUALIFIED in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW


def test_another_reps_lead_cannot_be_converted(rep: User, rep_b: User, stages) -> None:
    lead = qualified_lead(rep)
    assert client_for(rep_b).get(reverse("leads:convert", args=[lead.pk])).status_code == 404


def test_lost_without_reason_is_refused_with_the_reason_for_htmx(
    rep: User, deal: Deal, stages: dict[str, Stage]
) -> None:
    response = client_for(rep).post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stages["Lost"].pk, "version": deal.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response.content.decode() == services.LOST_NEEDS_REASON


def test_deal_list_filters(rep: User, manager: User, stages: dict[str, Stage]) -> None:
    small = make_deal(rep, value="100", company="Small Co")
    big = make_deal(rep, value="90000", company="Big Co")
    services.deal_move_stage(deal=big, actor=rep, stage=stages["Won"])
    client = client_for(manager)

    def titles(query: str) -> set[str]:
        return {d.title for d in client.get(reverse("deals:list") + query).context["page"].rows}

    assert titles("?state=won") == {big.title}
    assert titles("?state=open") == {small.title}
    assert titles("?value_min=1000") == {big.title}
    assert titles(f"?stage={stages['Meeting set'].pk}") == {small.title}
    assert titles("?q=small") == {small.title}


@pytest.mark.parametrize("count", [2, 25])
def test_deal_list_and_forecast_query_counts_are_constant(
    django_assert_max_num_queries, count: int, rep: User, manager: User, stages
) -> None:
    for i in range(count):
        make_deal(rep, value=str(100 + i), company=f"Co {i}", email=f"d{i}@example.com")
    client = client_for(manager)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("deals:list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("deals:forecast")).status_code == 200


def test_deal_detail_query_count(django_assert_max_num_queries, rep: User, deal: Deal) -> None:
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("deals:detail", args=[deal.pk])).status_code == 200


def test_a_new_lead_with_a_known_contacts_email_gets_a_warning(rep: User, deal: Deal) -> None:
    response = client_for(rep).post(
        reverse("leads:create"),
        {"first_name": "Peter", "last_name": "Gibbons", "email": "PETER@initech.com"},
    )
    html = response.content.decode()
    assert "Already a contact:" in html
    assert reverse("deals:contact", args=[deal.contact_id]) in html
    assert Lead.objects.filter(email="peter@initech.com").count() == 1  # only the converted one


def test_edit_overrides_the_probability_and_refuses_stale_saves(
    rep: User, manager: User, deal: Deal
) -> None:
    seen = deal.version
    form = {
        "title": deal.title,
        "value": "2500",
        "currency": "eur",
        "probability": "35",
        "expected_close_date": "2027-03-01",
        "version": seen,
    }
    response = client_for(rep).post(reverse("deals:edit", args=[deal.pk]), form)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.value, deal.currency, deal.effective_probability) == (Decimal("2500"), "EUR", 35)
    assert deal.weighted_value == Decimal("875.00")
    stale = client_for(manager).post(reverse("deals:edit", args=[deal.pk]), {**form, "value": "1"})
    assert services.DEAL_CONFLICT in stale.content.decode()
    deal.refresh_from_db()
    assert deal.value == Decimal("2500")


def test_contact_and_company_pages_show_possible_duplicates(
    rep: User, deal: Deal, stages: dict[str, Stage]
) -> None:
    from deals.models import Company, Contact

    twin = Contact.objects.create(
        first_name="P.", last_name="G", email="peter@initech.com", owner=rep
    )
    other = Company.objects.create(name="INITECH", owner=rep)
    client = client_for(rep)
    html = client.get(reverse("deals:contact", args=[deal.contact_id])).content.decode()
    assert reverse("deals:contact", args=[twin.pk]) in html
    html = client.get(reverse("deals:company", args=[deal.company_id])).content.decode()
    assert reverse("deals:company", args=[other.pk]) in html
    assert html.count("Possible duplicates") == 1
    assert "<title>Initech · CRM</title>" in html


def test_the_list_loads_its_forecast_sidebar_after_the_page(rep: User, stages) -> None:
    from datetime import timedelta

    from django.utils import timezone

    soon = make_deal(rep, value="1000")
    Deal.objects.filter(pk=soon.pk).update(
        expected_close_date=timezone.localdate() + timedelta(days=3)
    )
    client = client_for(rep)
    page = client.get(reverse("deals:list")).content.decode()
    assert 'hx-get="/deals/forecast/?part=upcoming"' in page
    part = client.get(reverse("deals:forecast") + "?part=upcoming").content.decode()
    assert "200 USD" in part  # 20 % of 1,000
    assert "navbar" not in part


@pytest.mark.parametrize("owner", ["", "abc", "999999"])
def test_assigning_nobody_or_garbage_is_a_message_not_a_500(
    manager: User, deal: Deal, owner: str
) -> None:
    response = client_for(manager).post(
        reverse("deals:assign", args=[deal.pk]),
        {"owner": owner, "version": deal.version},
        follow=True,
    )
    assert response.status_code == 200
    assert "Choose someone from the list." in response.content.decode()


def test_garbage_filters_and_cursors_do_not_break_the_lists(manager: User, deal: Deal) -> None:
    client = client_for(manager)
    for url in [
        "/deals/?owner=x&stage=x&team=x&close_month=2026-13&value_min=abc&cursor=%%%",
        "/deals/board/?owner=abc&team=-1",
        "/leads/?owner=x&status=nope&created_after=yesterday&cursor=zzz&before=zzz&sort=x",
        "/leads/export/?owner=x&due=sometime",
        "/deals/forecast/?part=zzz",
    ]:
        assert client.get(url).status_code == 200, url
