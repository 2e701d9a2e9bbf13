"""Bad input is a clear message, never a 500: one test per cause the fuzz run found
(tests/test_fuzz.py is the class of bug; these pin each cause)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.followups.models import Task
from crm.followups.services import task_create
from crm.pagination import CURSOR_INVALID, Sort, decode_cursor, encode_cursor, keyset_page
from crm.validators import (
    DATE_OUT_OF_RANGE,
    DATETIME_MAX,
    ID_MAX,
    parse_id,
    safe_localtime,
    validate_date_bounds,
)
from deals.models import Deal
from leads.models import Lead
from leads.phones import PHONE_TOO_LONG, normalize_phone
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

EXTREMES = ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T23:59", "2201-01-01T00:00"]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- 1. Dates out of range -----------------------------------------------------------------


@pytest.mark.parametrize("value", EXTREMES)
def test_the_lead_form_refuses_a_date_out_of_range(rep: User, value: str) -> None:
    response = client_for(rep).post(
        reverse("leads:create"),
        {
            "first_name": "Nora",
            "last_name": "New",
            "email": "nora@new.com",
            "next_action": "Call",
            "next_action_due": value,
        },
    )
    assert response.status_code == 200
    assert DATE_OUT_OF_RANGE in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("field", ["consent_at", "next_action_due"])
def test_the_lead_edit_refuses_a_date_out_of_range(rep: User, field: str) -> None:
    lead = make_lead(rep)
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "number": lead.number,
        "version": lead.version,
        "next_action": "Call",
        "next_action_due": "2030-01-01T10:00",
        field: "9999-12-31T23:59",
    }
    response = client_for(rep).post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 200
    assert DATE_OUT_OF_RANGE in response.content.decode()


def test_the_task_form_refuses_a_date_out_of_range(rep: User) -> None:
    response = client_for(rep).post(
        reverse("tasks:create"),
        {"title": "Plan", "kind": "todo", "due_at": "0001-01-01T00:00", "remind_before": ""},
    )
    assert response.status_code == 200
    assert DATE_OUT_OF_RANGE in response.content.decode()
    assert not Task.objects.exists()


def test_the_deal_edit_refuses_a_close_date_out_of_range(rep: User) -> None:
    deal = make_deal(rep)
    response = client_for(rep).post(
        reverse("deals:edit", args=[deal.pk]),
        {
            "title": deal.title,
            "value": "10",
            "currency": deal.currency,
            "expected_close_date": "9999-12-31",
            "version": deal.version,
        },
    )
    assert response.status_code == 200
    assert DATE_OUT_OF_RANGE in response.content.decode()


def test_the_services_refuse_a_date_out_of_range(rep: User) -> None:
    with pytest.raises(ValidationError) as raised:
        task_create(actor=rep, title="Far", due_at=dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
    assert DATE_OUT_OF_RANGE in str(raised.value)


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (Task, {"due_at": dt.datetime(9999, 12, 31, tzinfo=dt.UTC)}),
        (Lead, {"next_action": "Call", "next_action_due": dt.datetime(1, 1, 1, tzinfo=dt.UTC)}),
        (Lead, {"consent_at": dt.datetime(2201, 1, 1, tzinfo=dt.UTC)}),
        (Deal, {"expected_close_date": dt.date(9999, 12, 31)}),
        (
            Deal,
            {"next_action": "Call", "next_action_due": dt.datetime(1899, 12, 31, tzinfo=dt.UTC)},
        ),
    ],
)
def test_the_database_refuses_a_date_out_of_range(
    rep: User, model: type[Model], change: dict[str, object]
) -> None:
    lead = make_lead(rep)
    deal = make_deal(rep)
    task = task_create(actor=rep, title="Near", due_at=timezone.now(), lead=lead)
    row = {Task: task, Lead: lead, Deal: deal}[model]
    allowed = {k: v if k == "next_action" else timezone.now() for k, v in change.items()}
    if "expected_close_date" in change:
        allowed = {"expected_close_date": dt.date(2030, 1, 1)}
    model._default_manager.filter(pk=row.pk).update(**allowed)  # in bounds: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        model._default_manager.filter(pk=row.pk).update(**change)


def test_the_bounds_hold_in_every_time_zone() -> None:
    """The last instant allowed can be shown anywhere (UTC+14 included)."""
    validate_date_bounds(DATETIME_MAX)
    kiritimati = DATETIME_MAX.astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati"))
    assert kiritimati.year == 2201
    with pytest.raises(ValidationError):
        validate_date_bounds(DATETIME_MAX + dt.timedelta(seconds=1))
    west = dt.datetime(1900, 1, 1, tzinfo=zoneinfo.ZoneInfo("Etc/GMT-12"))  # UTC+12
    with pytest.raises(ValidationError):
        validate_date_bounds(west)  # 1899-12-31 12:00 UTC


def test_a_stored_extreme_is_shown_without_overflowing() -> None:
    extreme = dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Kiritimati")):
        with pytest.raises(OverflowError):
            timezone.localtime(extreme)
        assert safe_localtime(extreme) == extreme
    assert safe_localtime(None) is None


def test_a_close_month_out_of_range_is_no_deals(rep: User) -> None:
    make_deal(rep)
    client = client_for(rep)
    for month in ("9999-12", "0001-01", "2024-13", "²⁰²⁴-01", "x"):
        response = client.get(reverse("deals:list"), {"close_month": month})
        assert response.status_code == 200, month
        assert not response.context["page"].rows


# --- 2. Crafted keyset cursors -------------------------------------------------------------

BAD_CURSORS = [
    encode_cursor(["x", 1]),  # a string for a datetime column
    encode_cursor([{"a": 1}, 1]),
    encode_cursor([[], 1]),
    encode_cursor([1, 1]),
    encode_cursor([True, 1]),
    encode_cursor([None, 1]),  # NULL for a column that has none
    encode_cursor(["2024-01-01T00:00:00", 1]),  # naive
    encode_cursor(["9999-12-31T23:59:59+00:00", 1]),  # out of bounds
    encode_cursor(["2024-01-01T00:00:00+00:00", 2**70]),  # id past bigint
    encode_cursor(["2024-01-01T00:00:00+00:00", True]),
    "!!!",
]


@pytest.mark.parametrize(
    "url", ["leads:list", "deals:list", "tasks:list", "deals:contacts", "deals:companies"]
)
@pytest.mark.parametrize("param", ["cursor", "before"])
def test_a_bad_cursor_is_the_first_page_with_a_message(manager: User, url: str, param: str) -> None:
    client = client_for(manager)
    for cursor in BAD_CURSORS:
        # Newest first: a datetime column on every one of these lists.
        response = client.get(reverse(url), {param: cursor, "sort": "-created"})
        assert response.status_code == 200, cursor
        assert CURSOR_INVALID in response.content.decode(), cursor


def test_a_bad_cursor_on_the_notifications_page(rep: User) -> None:
    client = client_for(rep)
    for cursor in BAD_CURSORS:
        response = client.get(reverse("notifications:list"), {"cursor": cursor})
        assert response.status_code == 200
        assert CURSOR_INVALID in messages_of(response)


def test_the_cursor_is_checked_against_its_sort(rep: User) -> None:
    make_lead(rep, company="Acme")
    sorts = {
        "name": Sort("name", "Name", "last_name"),
        "due": Sort("due", "Due", "next_action_due", nullable=True),
        "idle": Sort("idle", "Idle", "last_activity_at"),
    }
    leads = Lead.objects.all()

    def page(sort: str, cursor: str):
        return keyset_page(leads, sort_key=sort, after=cursor, sorts=sorts, default_sort="name")

    assert page("name", encode_cursor(["Lee", 1])).cursor_invalid is False
    assert page("name", encode_cursor([5, 1])).cursor_invalid is True
    assert page("name", encode_cursor([None, 1])).cursor_invalid is True
    assert page("due", encode_cursor([None, 1])).cursor_invalid is False  # nullable
    assert page("idle", encode_cursor(["2026-01-01T00:00:00+00:00", 1])).cursor_invalid is False
    assert page("idle", encode_cursor(["Lee", 1])).cursor_invalid is True
    assert page("name", "").cursor_invalid is False
    assert decode_cursor(encode_cursor(["a", ID_MAX + 1])) is None


def test_a_good_cursor_still_pages(rep: User) -> None:
    for n in range(3):
        make_lead(rep, last_name=f"Lee{n}")
    sorts = {"name": Sort("name", "Name", "last_name")}
    first = keyset_page(
        Lead.objects.all(), sort_key="name", sorts=sorts, default_sort="name", per_page=2
    )
    second = keyset_page(
        Lead.objects.all(),
        sort_key="name",
        after=first.next_cursor,
        sorts=sorts,
        default_sort="name",
        per_page=2,
    )
    assert [lead.last_name for lead in second.rows] == ["Lee2"]
    assert not second.cursor_invalid


# --- 3. `next` is followed only to a path on this site -------------------------------------


@pytest.mark.parametrize("target", ["abc", "//evil.example/", "https://evil.example/", ""])
def test_the_deal_stage_form_follows_only_a_local_next(rep: User, target: str) -> None:
    deal = make_deal(rep)
    stage = ensure_stages()["Proposal sent"]
    response = client_for(rep).post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stage.pk, "version": deal.version, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == deal.get_absolute_url()


def test_a_local_next_is_still_followed(rep: User) -> None:
    deal = make_deal(rep)
    stage = ensure_stages()["Proposal sent"]
    response = client_for(rep).post(
        reverse("deals:stage", args=[deal.pk]),
        {"stage": stage.pk, "version": deal.version, "next": "/deals/board/"},
    )
    assert response["Location"] == "/deals/board/"


def test_the_task_pages_follow_only_a_local_next(rep: User) -> None:
    task = task_create(actor=rep, title="Call", due_at=timezone.now())
    response = client_for(rep).post(
        reverse("tasks:complete", args=[task.pk]), {"next": "abc", "version": task.version}
    )
    assert response.status_code == 302
    assert response["Location"] != "abc"


# --- 4. Ids: ASCII digits within bigint, parsed by one helper ------------------------------


def test_parse_id() -> None:
    assert parse_id("12") == 12
    assert parse_id(12) == 12
    for value in ("²", "١٢", "𝟗", "", " 1", "1.0", "-1", "0", str(2**63), None, True, [1]):
        assert parse_id(value) is None, value
    assert parse_id(str(ID_MAX)) == ID_MAX


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 25, "abc"])
def test_a_task_for_a_record_id_that_is_no_id_is_a_bad_request(rep: User, value: str) -> None:
    client = client_for(rep)
    assert client.get(reverse("tasks:create"), {"lead": value}).status_code == 400
    assert client.get(reverse("tasks:create"), {"deal": value}).status_code == 400


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 25])
def test_the_board_ignores_an_owner_or_team_that_is_no_id(manager: User, value: str) -> None:
    response = client_for(manager).get(reverse("deals:board"), {"team": value, "owner": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "9" * 25, ""])
def test_assigning_a_deal_to_an_owner_that_is_no_id_says_so(manager: User, value: str) -> None:
    deal = make_deal(manager, owner=manager)
    response = client_for(manager).post(
        reverse("deals:assign", args=[deal.pk]),
        {"owner": value, "version": deal.version},
        follow=True,
    )
    assert response.status_code == 200
    assert "Choose someone from the list." in messages_of(response)


def test_bulk_ignores_lead_ids_that_are_no_ids(manager: User) -> None:
    lead = make_lead(manager)
    response = client_for(manager).post(
        reverse("leads:bulk"),
        {"action": "status", "status": "contacted", "leads": ["²", "9" * 25, str(lead.pk)]},
    )
    assert response.status_code == 302


# --- 5. Phones, NUL bytes ------------------------------------------------------------------


def test_a_phone_longer_than_any_is_refused_on_the_phone_field(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:create"),
        {"first_name": "Nora", "last_name": "New", "phone": "+" + "9" * 28},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"phone": [PHONE_TOO_LONG]}
    assert not Lead.objects.exists()
    assert normalize_phone("9" * 29) == ""


def test_a_contact_phone_longer_than_any_is_refused() -> None:
    from deals.models import Contact

    with pytest.raises(ValidationError) as raised:
        Contact(first_name="A", phone="9" * 29).full_clean(exclude=["owner", "team"])
    assert raised.value.message_dict["phone"] == [PHONE_TOO_LONG]


@pytest.mark.parametrize(
    "url", ["deals:contacts", "deals:companies", "leads:list", "deals:list", "tasks:list"]
)
def test_a_nul_byte_in_a_search_is_a_bad_request(rep: User, url: str) -> None:
    response = client_for(rep).get(reverse(url), {"q": "a\x00b"})
    assert response.status_code == 400


def test_a_nul_byte_in_a_form_is_a_bad_request(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:create"), {"first_name": "No\x00ra", "email": "n@new.com"}
    )
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_a_deal_with_a_value_stays_fine(rep: User) -> None:
    """The bounds leave ordinary dates alone."""
    deal = make_deal(rep)
    deal.expected_close_date = dt.date(2030, 6, 30)
    deal.value = Decimal("5")
    deal.full_clean()
