"""In a real browser (Debian's Chromium): a manager opens the dashboard, reads the number of
leads from the per-rep table beside its chart, follows it, and the list says the same."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from leads import services as lead_services
from tests.factories import PASSWORD, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_follows_a_number_to_its_list(
    live_server: Any, page: Any, manager: User, rep: User, rep_b: User
) -> None:
    from playwright.sync_api import expect

    for owner, n in ((rep, 3), (rep_b, 2)):
        for _ in range(n):
            lead = make_lead(owner, owner=owner)
            lead_services.lead_change_status(lead=lead, actor=owner, status="contacted")

    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # The chart is there, and its numbers are in the table under it.
    assert page.locator("svg[role=img]").count() >= 3
    reps = page.get_by_role("table", name="Per rep")
    row = reps.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=rep.get_full_name())
    )
    link = row.get_by_role("cell").nth(0).get_by_role("link")
    assert link.inner_text() == "3"

    link.click()
    page.wait_for_url(f"{live_server.url}/leads/?**")
    expect(page.get_by_text("3 leads", exact=True)).to_be_visible()

    # Keyboard and no JavaScript needed: the filters are a plain GET form.
    page.goto(f"{live_server.url}/dashboard/?range=custom&start=2026-11-10&end=2026-11-01")
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()


def test_the_dashboard_fits_a_phone(
    live_server: Any, browser: Any, manager: User, rep: User
) -> None:
    make_lead(rep, owner=rep)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        phone.goto(f"{live_server.url}/dashboard/")
        phone.get_by_label("Email address").fill(manager.email)
        phone.get_by_label("Password").fill(PASSWORD)
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url(f"{live_server.url}/dashboard/")
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # The filters are a plain form: pick a range, press Enter on "Show".
        phone.get_by_label("Dates").select_option("30")
        phone.get_by_role("button", name="Show").press("Enter")
        phone.wait_for_url("**/dashboard/?range=30*")
    finally:
        context.close()
