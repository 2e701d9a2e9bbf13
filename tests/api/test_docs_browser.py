"""The docs page in a real browser: Swagger UI runs from our static files under our
Content-Security-Policy, with nothing refused and nothing fetched from elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_renders_under_our_csp(live_server: Any, page: Any) -> None:
    complaints: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: complaints.append(message.text))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("CRM API").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/leads/{lead_id}/claim").first.wait_for()
    assert not [text for text in complaints if "Content Security Policy" in text], complaints
    assert requests
    assert all(url.startswith(live_server.url) for url in requests), requests
