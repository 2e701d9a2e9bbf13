"""Every error of the API is the problem body ``{detail, code, field_errors}`` as JSON:
never an HTML page, never a 500. The rate limit (429 with Retry-After) and the session
with its CSRF token live here too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import User
from crm.api import auth
from crm.api.auth import rate_limit
from crm.middleware import NUL_REFUSED
from leads.models import Lead
from tests.api.conftest import Api, api_as, problem_of, token_for
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, owner=rep)


def test_each_status_is_a_problem_body(rep: User, rep_b: User, manager: User, lead: Lead) -> None:
    api = api_as(rep)
    other = make_lead(rep_b, owner=rep_b, email="dup@example.com")
    match = {"If-Match": '"1"'}
    cases: list[tuple[int, str, Any]] = [
        (
            400,
            "malformed_body",
            api.client.post(
                "/api/v1/leads", "{not json", content_type="application/json", headers=api.headers
            ),
        ),
        (400, "invalid_cursor", api.get("/leads", {"cursor": "!!!"})),
        (400, "nul_refused", api.get("/leads", {"q": "a\x00b"})),
        (400, "if_match_invalid", api.patch(f"/leads/{lead.pk}", {}, **{"If-Match": "abc"})),
        (401, "not_authenticated", Client().get("/api/v1/leads")),
        (403, "assign_not_allowed", api.post(f"/leads/{lead.pk}/assign", {"owner": None}, **match)),
        (404, "not_found", api.get(f"/leads/{other.pk}")),
        (404, "not_found", api.get("/no-such-thing")),
        (
            405,
            "method_not_allowed",
            api.client.delete(f"/api/v1/leads/{lead.pk}", headers=api.headers),
        ),
        (409, "duplicate", api.post("/leads", {"first_name": "A", "email": "dup@example.com"})),
        (412, "stale", api.patch(f"/leads/{lead.pk}", {}, **{"If-Match": '"7"'})),
        (422, "invalid", api.get("/leads", {"limit": "0"})),
        (422, "invalid", api.post("/leads", {"first_name": "A", "unknown": 1})),
        (422, "invalid", api.get(f"/leads/{2**70}")),
        (422, "refused", api.post(f"/leads/{lead.pk}/status", {"status": "lost"}, **match)),
        (428, "if_match_required", api.patch(f"/leads/{lead.pk}", {"company": "X"})),
    ]
    for status, code, response in cases:
        assert response.status_code == status, (status, code, response.content)
        assert problem_of(response)["code"] == code


def test_field_errors_name_the_fields(rep: User) -> None:
    response = api_as(rep).post(
        "/leads", {"first_name": 5, "email": "x@example.com", "budget": "lots", "rate": "boiling"}
    )
    assert response.status_code == 422
    assert set(problem_of(response)["field_errors"]) == {"first_name", "budget", "rate"}


def test_a_nul_byte_in_json_is_refused_per_field(rep: User) -> None:
    response = api_as(rep).post("/leads", {"first_name": "A\x00", "email": "a@example.com"})
    assert response.status_code == 422
    assert problem_of(response)["field_errors"] == {
        "first_name": ["Value error, Text cannot contain a NUL character."]
    }


def test_nul_in_the_query_says_why(rep: User) -> None:
    response = api_as(rep).get("/leads", {"q": "\x00"})
    assert problem_of(response)["detail"] == NUL_REFUSED


def test_an_unexpected_error_is_a_problem_body_not_a_page(
    rep: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("crm.api.leads.choices_for", broken)
    response = api_as(rep).get("/leads")
    assert response.status_code == 500
    body = problem_of(response)
    assert body["code"] == "server_error"
    assert "boom" not in response.content.decode()


# --- Rate limit ----------------------------------------------------------------------------


@override_settings(API_RATE_LIMIT="3/min")
def test_each_token_is_rate_limited_with_retry_after(rep: User) -> None:
    first, second = Api(token_for(rep)), Api(token_for(rep))
    assert [first.get("/tags").status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get("/tags")
    assert refused.status_code == 429
    assert problem_of(refused)["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60 + 20
    assert f"Retry in {refused['Retry-After']} s" in problem_of(refused)["detail"]
    assert second.get("/tags").status_code == 200  # counted per token


@pytest.mark.parametrize(
    ("setting", "count", "seconds"),
    [("600/min", 600, 60), ("10/s", 10, 1), (" 5000 / hour", 5000, 3600), ("7/5min", 7, 300)],
)
def test_the_rate_limit_setting_reads(setting: str, count: int, seconds: int) -> None:
    with override_settings(API_RATE_LIMIT=setting):
        limit = rate_limit()
    assert (limit.count, limit.seconds) == (count, seconds)


def test_a_bad_rate_limit_setting_says_how_it_should_read() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(API_RATE_LIMIT="lots"), pytest.raises(ImproperlyConfigured):
        rate_limit()


# --- The session, for the app's own pages ----------------------------------------------------


def _session(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_signed_in_page_reads_with_its_session(rep: User, lead: Lead) -> None:
    response = _session(rep).get(f"/api/v1/leads/{lead.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == lead.pk


def test_a_session_write_needs_the_csrf_token(rep: User, lead: Lead) -> None:
    client = _session(rep)
    body = '{"company": "Via session"}'
    refused = client.patch(
        f"/api/v1/leads/{lead.pk}",
        body,
        content_type="application/json",
        headers={"If-Match": '"1"'},
    )
    assert refused.status_code == 403
    assert problem_of(refused) == {
        "detail": auth.CSRF_FAILED,
        "code": "csrf_failed",
        "field_errors": {},
    }
    client.get(reverse("profile"))  # a page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    allowed = client.patch(
        f"/api/v1/leads/{lead.pk}",
        body,
        content_type="application/json",
        headers={"If-Match": '"1"', "X-CSRFToken": token},
    )
    assert allowed.status_code == 200, allowed.content
    lead.refresh_from_db()
    assert lead.company == "Via session"


def test_a_bad_token_is_never_helped_by_a_session(rep: User) -> None:
    client = _session(rep)
    response = client.get("/api/v1/leads", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"first_name": "A", "description": "' + "x" * (6 * 1024 * 1024) + '"}', 413, "too_large"),
        ("[" * 100_000, 400, "malformed_body"),
        ("1" * 5000, 400, "malformed_body"),
        ("\xff\xfe", 400, "malformed_body"),
        ("[1, 2]", 422, "invalid"),
        ("", 422, "invalid"),
    ],
    ids=["too large", "too deep", "huge number", "not utf-8", "not an object", "empty"],
)
def test_an_odd_body_is_a_4xx_problem(rep: User, body: str, status: int, code: str) -> None:
    api = api_as(rep)
    response = api.client.post(
        "/api/v1/leads",
        body.encode("latin-1"),
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == status
    assert problem_of(response)["code"] == code


def test_extreme_values_get_the_models_messages(rep: User) -> None:
    response = api_as(rep).post(
        "/leads",
        {
            "first_name": "A",
            "email": "a@example.com",
            "phone": "9" * 29,
            "country": "ZZ",
            "budget": "1e100000",
            "next_action": "Call",
            "next_action_due": "0001-01-01T00:00:00+14:00",
        },
    )
    assert response.status_code == 422
    assert problem_of(response)["field_errors"] == {
        "phone": ["A phone number has at most 15 digits."],
        "country": ["Value 'ZZ' is not a valid choice."],
        "budget": ["Ensure that there are no more than 12 digits in total."],
        "next_action_due": ["Enter a date between 1900 and 2200."],
    }


def test_an_error_page_turned_into_json_keeps_the_security_headers(rep: User) -> None:
    response = api_as(rep).get("/no-such-thing")
    assert response.status_code == 404
    assert problem_of(response)["detail"].endswith("The endpoints are listed at /api/v1/docs.")
    assert response["X-Content-Type-Options"] == "nosniff"
