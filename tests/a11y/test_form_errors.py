"""Form errors as a screen-reader or keyboard user meets them: one summary per form, with
role=alert, that takes focus on arrival and links to each field it names; the refused
sign-in says so in an alert; the profile's name fields tell the browser what they hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.a11y.conftest import sign_in

FOCUSED_SUMMARY = "document.activeElement.matches('[data-error-summary][role=alert]')"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_sign_in_is_an_alert_that_has_focus(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Please enter a correct email address and password")
    assert page.evaluate(FOCUSED_SUMMARY)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_lead_form_has_one_focused_summary_linking_to_each_field(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/new/")
    page.get_by_label("First name").fill("Solo")
    page.get_by_role("button", name="Create lead").click()

    # The form-wide error is said once, in the summary, which has focus.
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_count(1)
    expect(page.get_by_text("Enter an email address or a phone number.")).to_have_count(1)
    assert page.evaluate(FOCUSED_SUMMARY)

    # A field's own error is a link in the summary that moves focus to the field.
    page.get_by_label("Email", exact=True).fill("not an address")
    page.get_by_role("button", name="Create lead").click()
    link = summary.get_by_role("link", name="Email:")
    expect(link).to_have_attribute("href", "#id_email")
    assert page.evaluate(FOCUSED_SUMMARY)
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Email", exact=True)).to_be_focused()


@pytest.mark.django_db
def test_the_profile_name_fields_say_they_hold_a_given_and_a_family_name(rep: User) -> None:
    client = Client()
    client.force_login(rep)
    html = client.get("/accounts/profile/").content.decode()
    assert 'autocomplete="given-name"' in html
    assert 'autocomplete="family-name"' in html
