"""The home page in a real browser (Debian's Chromium, driven by Playwright): a rep signs in
on a phone, lands on their day, which fits the screen, and completes an overdue follow-up
from the keyboard (htmx swaps the row, the page stays); a manager switches to one rep."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from tests.factories import PASSWORD, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 390, 844
SHOT = "/tmp/home_phone.png"  # noqa: S108  (for people to look at, not asserted on)


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=3, is_mobile=True
    )
    page = context.new_page()
    yield page
    context.close()


def _sign_in(page: Any, base: str, user: User) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_a_rep_completes_an_overdue_follow_up_from_home_on_a_phone(
    live_server: Any, phone: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    lead = make_lead(rep, first_name="Wanda", last_name="Waiting", company="Acme")
    task = followups.task_create(
        actor=rep,
        title="Call Wanda back",
        kind=Task.Kind.TODO,
        due_at=timezone.now() - timedelta(hours=1),
        lead=lead,
    )
    _sign_in(phone, live_server.url, rep)
    expect(phone.get_by_role("heading", name="My day")).to_be_visible()
    expect(phone.locator("#waiting-heading")).to_be_visible()
    waiting = phone.locator("section[aria-labelledby=waiting-heading]")
    expect(waiting.get_by_text("Wanda Waiting · Acme")).to_have_count(1)  # with its clock
    expect(waiting.get_by_text("left", exact=False).first).to_be_visible()
    # Scored when she was made, so she is among the hottest too.
    hottest = phone.locator("section[aria-labelledby=hot-heading]")
    expect(hottest.get_by_text("Wanda Waiting", exact=False)).to_have_count(1)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"the page is {width} px wide on a {WIDTH} px screen"
    phone.screenshot(path=SHOT, full_page=True)

    row = phone.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("Overdue")
    complete = row.get_by_role("button", name="Complete")
    complete.focus()
    phone.keyboard.press("Enter")
    expect(row).to_contain_text("Done: “Call Wanda back”.")
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    assert phone.url == f"{live_server.url}/"
    task.refresh_from_db()
    assert task.is_done


def test_a_manager_switches_to_one_rep(
    live_server: Any, page: Any, manager: User, rep: User, rep_b: User
) -> None:
    from playwright.sync_api import expect

    for owner, title in ((rep, "Rep A's call"), (rep_b, "Rep B's call")):
        followups.task_create(
            actor=owner,
            title=title,
            kind=Task.Kind.CALL,
            due_at=timezone.now() - timedelta(minutes=30),
        )
    _sign_in(page, live_server.url, manager)
    day = page.locator("#day")
    expect(day).to_contain_text("My team's day")
    expect(day).to_contain_text("Rep A's call")
    expect(day).to_contain_text("Rep B's call")
    page.get_by_label("Whose day").select_option(str(rep_b.pk))
    expect(day).to_contain_text(f"{rep_b}'s day")
    expect(day).not_to_contain_text("Rep A's call")
    expect(day).to_contain_text("Rep B's call")
    assert page.url == f"{live_server.url}/?person={rep_b.pk}"
