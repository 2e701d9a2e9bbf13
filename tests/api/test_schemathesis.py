"""The API against its own OpenAPI document, property-based (schemathesis), over HTTP to
a live server on loopback: no 5xx, and every answer is one the document declares (status,
content type, body schema, headers). Bounded: a fixed number of examples per operation,
derandomized, no shrinking."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from crm.api.urls import api
from tests.api.conftest import token_for
from tests.factories import make_lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def bearer(rep: User, manager: User, tag: Any, reason: Any) -> str:
    """A manager's write token, with leads of their team (at ids 1, 2… the examples hit
    now and then) in every state the endpoints read."""
    for n in range(3):
        make_lead(rep, owner=rep, last_name=f"Fuzz{n}", phone="+44 20 7946 0000", tags=[tag])
    make_lead(manager, company="Pool Ltd")
    return token_for(manager)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_document_says(case: Any, live_server: Any, bearer: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {bearer}"}
    with override_settings(API_RATE_LIMIT="100000/min"):
        response = case.call(base_url=live_server.url, timeout=30)
    case.validate_response(response, checks=CHECKS)
