"""The OpenAPI document is generated from the code and lists every endpoint; the docs
page loads Swagger UI from our own static files, under our CSP."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from crm.api import schemas
from leads.models import Lead, LeadNote
from leads.selectors import LEAD_SORTS

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    ("get", "/api/v1/leads"),
    ("post", "/api/v1/leads"),
    ("get", "/api/v1/leads/{lead_id}"),
    ("patch", "/api/v1/leads/{lead_id}"),
    ("post", "/api/v1/leads/{lead_id}/status"),
    ("post", "/api/v1/leads/{lead_id}/assign"),
    ("post", "/api/v1/leads/{lead_id}/claim"),
    ("get", "/api/v1/leads/{lead_id}/notes"),
    ("post", "/api/v1/leads/{lead_id}/notes"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/sources"),
    ("get", "/api/v1/lost-reasons"),
    ("get", "/api/v1/tags"),
    ("get", "/api/v1/stages"),
}


@pytest.fixture
def document() -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_the_document_lists_every_endpoint(document: dict) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "CRM API"
    found = {(method, path) for path, item in document["paths"].items() for method in item}
    assert found == ENDPOINTS


def test_every_operation_declares_auth_and_its_problem_bodies(document: dict) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["security"], (method, path)
            assert {"401", "403", "404", "422", "429"} <= set(operation["responses"]), path
            for status, answer in operation["responses"].items():
                assert "application/json" in answer["content"], (method, path, status)


def test_every_reference_resolves(document: dict) -> None:
    text = str(document)
    names = set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text))
    assert names
    assert names <= set(document["components"]["schemas"])


def test_a_write_documents_if_match_and_its_412(document: dict) -> None:
    patch = document["paths"]["/api/v1/leads/{lead_id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    assert {"412", "428"} <= set(patch["responses"])
    assert "409" in document["paths"]["/api/v1/leads"]["post"]["responses"]


def test_the_schemas_choices_are_the_models() -> None:
    assert set(get_args(schemas.StatusValue)) == set(Lead.Status.values)
    assert set(get_args(schemas.RateValue)) == {"", *Lead.Rate.values}
    assert set(get_args(schemas.AuthorityValue)) == {"", *Lead.Authority.values}
    assert set(get_args(schemas.TimelineValue)) == {"", *Lead.Timeline.values}
    assert set(get_args(schemas.NoteKind)) <= set(LeadNote.Kind.values)
    assert set(get_args(schemas.SortValue)) == set(LEAD_SORTS)


def test_the_docs_page_loads_its_assets_from_us_under_our_csp() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/static/ninja/swagger-ui.css" in page
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page)
    assert urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert not re.search(r"https?://", page)
    assert "<script>" not in page.replace(" ", "")  # no inline script for the CSP to refuse
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    # Found by the static files finders: collectstatic ships them with ours.
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert finders.find(asset), asset
