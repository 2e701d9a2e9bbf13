"""Smoke test in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_see_the_shell_and_sign_out(live_server, page, rep: User, admin: User) -> None:
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Please enter a correct email address and password").is_visible()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name=f"Welcome, {rep.first_name}").is_visible()
    assert page.get_by_role("navigation", name="Main navigation").is_visible()
    assert page.get_by_role("link", name="Admin").count() == 0
    # Bootstrap's CSS really loaded from our static files: the navbar is dark.
    background = page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"
    # htmx loaded from django-htmx's static files.
    assert page.evaluate("typeof htmx") == "object"

    page.get_by_role("button", name=rep.first_name).click()
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You are signed out.").is_visible()
