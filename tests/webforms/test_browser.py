"""The web form in a real browser (Debian's Chromium through Playwright): the plain HTML
snippet pasted into a page of another site (a second loopback origin) posts across and
makes a lead; the hosted page works at phone width and by keyboard alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Team
from leads.models import Lead
from leads.webforms.admin import snippet
from leads.webforms.models import WebForm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web_form(team: Team) -> WebForm:
    return WebForm.objects.create(
        name="Contact us",
        slug="contact",
        team=team,
        fields=["first_name", "last_name", "email", "message"],
        required=["first_name", "email"],
        consent_text="Send me news now and then.",
    )


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A website of the team's own, on another origin (127.0.0.1, the CRM is localhost)."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()


def test_the_snippet_on_another_site_posts_a_lead_across(
    live_server: Any, page: Any, web_form: WebForm, other_site: tuple[str, Path], settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    origin, root = other_site
    (root / "contact.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Our site</title></head>"
        f"<body><h1>Get in touch</h1>{snippet(web_form)}</body></html>",
        encoding="utf-8",
    )
    page.goto(f"{origin}/contact.html?utm_campaign=ignored-by-a-static-page")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Email").fill("nina@example.org")
    page.get_by_label("Message").fill("Hello from our website")
    page.get_by_label("Send me news now and then.").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert page.url.startswith(live_server.url)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.marketing_consent) == (
        "Nina",
        "nina@example.org",
        True,
    )
    assert lead.notes.get().body.startswith("Hello from our website")


def test_the_hosted_page_on_a_phone_and_by_keyboard(
    live_server: Any, page: Any, web_form: WebForm
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/f/contact/?utm_source=ad")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("First name").focus()
    page.keyboard.type("Omar")
    page.keyboard.press("Tab")
    page.keyboard.type("Haddad")
    page.keyboard.press("Tab")
    page.keyboard.type("not an email")
    page.keyboard.press("Tab")
    page.keyboard.type("Phone me")
    page.keyboard.press("Enter")  # in the message box: a new line, not a submit
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the consent box
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Send"  # not the honeypot
    page.keyboard.press("Enter")
    # The error summary has focus and links to the field; the field says it too.
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Email: Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("Enter a valid email address.", exact=True)).to_be_visible()
    assert not Lead.objects.exists()
    page.get_by_label("Email").fill("omar@example.org")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get()
    assert (lead.last_name, lead.utm_source, lead.marketing_consent) == ("Haddad", "ad", True)
