"""The convert form's defaults: a title that tells the deals of one company apart (not
"<Company>: new deal" for every lead), and no silent 0 for a lead without an estimate: the
user enters a value or ticks "Value not known yet"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from deals import services
from deals.forms import CONVERT_VALUE_NEEDED, CONVERT_VALUE_TWICE, VALUE_NO_ESTIMATE
from deals.models import Deal, Stage
from leads.models import Lead
from tests.deals.helpers import qualified_lead

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _initial(user: User, lead: Lead) -> dict[str, object]:
    response = _client(user).get(reverse("leads:convert", args=[lead.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    return {name: form[name].value() for name in ("title", "value", "value_unknown")}


def _convert(user: User, lead: Lead, stage: Stage, **data: object) -> Client:
    client = _client(user)
    client.post(
        reverse("leads:convert", args=[lead.pk]),
        {"title": "A deal", "stage": stage.pk, "version": lead.version, **data},
    )
    return client


def test_the_title_names_the_company_and_the_person(rep: User, stages: dict[str, Stage]) -> None:
    lead = qualified_lead(rep, first_name="Rita", last_name="Ray", company="Acme")
    assert _initial(rep, lead)["title"] == "Acme – Rita Ray"
    alone = qualified_lead(rep, first_name="Sam", last_name="Solo", company="")
    assert _initial(rep, alone)["title"] == "Sam Solo"


def test_a_second_deal_at_the_same_company_gets_a_title_of_its_own(
    rep: User, stages: dict[str, Stage]
) -> None:
    first = qualified_lead(
        rep, first_name="Rita", last_name="Ray", company="Acme", estimated_value=Decimal(5)
    )
    title = _initial(rep, first)["title"]
    _convert(rep, first, stages["Meeting set"], title=title, value="5")
    deal = Deal.objects.get(source_lead=first)
    other = qualified_lead(rep, first_name="Tom", last_name="Tee", company="Acme")
    assert _initial(rep, other)["title"] == "Acme – Tom Tee"
    # The same person again (a repeat deal), linked to the same company: numbered.
    again = qualified_lead(rep, first_name="Rita", last_name="Ray", company="Acme")
    assert deal.company is not None
    assert services.proposed_deal_title(again, deal.company) == "Acme – Rita Ray (2)"
    assert _initial(rep, again)["title"] == "Acme – Rita Ray (2)"


def test_without_an_estimate_the_value_is_left_to_the_user(
    rep: User, stages: dict[str, Stage]
) -> None:
    lead = qualified_lead(rep, company="Acme")
    assert _initial(rep, lead)["value"] is None
    page = _client(rep).get(reverse("leads:convert", args=[lead.pk])).content.decode()
    assert "Value not known yet" in page
    assert escape(VALUE_NO_ESTIMATE) in page

    response = _client(rep).post(
        reverse("leads:convert", args=[lead.pk]),
        {"title": "A deal", "stage": stages["Meeting set"].pk, "version": lead.version},
    )
    assert response.status_code == 200
    assert escape(CONVERT_VALUE_NEEDED) in response.content.decode()
    assert not Deal.objects.exists()

    response = _client(rep).post(
        reverse("leads:convert", args=[lead.pk]),
        {
            "title": "A deal",
            "value": "10",
            "value_unknown": "on",
            "stage": stages["Meeting set"].pk,
            "version": lead.version,
        },
    )
    assert escape(CONVERT_VALUE_TWICE) in response.content.decode()
    assert not Deal.objects.exists()

    _convert(rep, lead, stages["Meeting set"], value_unknown="on")
    assert Deal.objects.get(source_lead=lead).value == Decimal("0")


def test_an_estimate_is_prefilled_and_a_typed_value_kept(
    rep: User, stages: dict[str, Stage]
) -> None:
    lead = qualified_lead(rep, company="Acme", estimated_value=Decimal("1200"))
    assert Decimal(str(_initial(rep, lead)["value"])) == Decimal("1200")
    _convert(rep, lead, stages["Meeting set"], value="1500")
    assert Deal.objects.get(source_lead=lead).value == Decimal("1500")
