"""The task list and the lead list on a phone (390 × 844, Debian's Chromium): nothing wider
than the screen (the task page was 708 px wide and pushed Complete / Reschedule off it),
the task actions on screen, and on the lead list each lead's status, owner and next action."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from leads import services
from leads.models import Lead
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=3, is_mobile=True
    )
    page = context.new_page()
    yield page
    context.close()


def _sign_in(page: Any, base: str, user: User, path: str) -> None:
    page.goto(f"{base}{path}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{path}")


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"the page is {width} px wide on a {WIDTH} px screen"


def _on_screen(locator: Any) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert locator.is_visible(), locator
    assert box is not None, locator
    assert box["x"] >= 0, (locator, box)
    assert box["x"] + box["width"] <= WIDTH, (locator, box)


@pytest.fixture
def lead(rep: User) -> Lead:
    lead = services.lead_create(
        actor=rep,
        owner=rep,
        first_name="Maximiliane",
        last_name="Oberhausen-Wetherington",
        company="Kestrel Legal and Accountancy Partners International",
        email="maximiliane.oberhausen-wetherington@kestrel-legal.example",
        phone="+1 212 555 0199",
    )
    return services.lead_set_next_action(
        lead=lead,
        actor=rep,
        next_action="Call back about the renewal of the twelve-seat contract",
        due=timezone.now() + timedelta(days=1),
    )


def test_the_task_list_fits_a_phone_with_its_actions_on_screen(
    live_server: Any, phone: Any, rep: User, lead: Lead
) -> None:
    from playwright.sync_api import expect

    tasks = [
        followups.task_create(
            actor=rep,
            title="Call Maximiliane about the renewal of the twelve-seat contract, and the invoice",
            kind=Task.Kind.CALL,
            due_at=timezone.now() + timedelta(hours=hours),
            lead=lead,
            remind_before=15,
        )
        for hours in (-30, 3)
    ]
    _sign_in(phone, live_server.url, rep, "/tasks/")
    _fits(phone)
    for task in tasks:
        row = phone.locator(f"#task-{task.pk}")
        _on_screen(row.get_by_role("button", name="Complete"))
        _on_screen(row.locator("summary", has_text="Reschedule"))
        _on_screen(row.get_by_label("Outcome (logged on the lead)"))
    # Open Reschedule: its buttons are on screen too, and +1 day works from there.
    row = phone.locator(f"#task-{tasks[1].pk}")
    row.locator("summary", has_text="Reschedule").click()
    _fits(phone)
    for name in ("+1 day", "+1 week", "Set"):
        _on_screen(row.get_by_role("button", name=name, exact=True))
    before = tasks[1].due_at
    row.get_by_role("button", name="+1 day").click()
    expect(phone.locator(f"#task-{tasks[1].pk}")).to_contain_text("Rescheduled")
    tasks[1].refresh_from_db()
    assert tasks[1].due_at == before + timedelta(days=1)
    _fits(phone)


def test_the_lead_list_shows_status_owner_and_next_action_on_a_phone(
    live_server: Any, phone: Any, rep: User, lead: Lead
) -> None:
    _sign_in(phone, live_server.url, rep, "/leads/")
    _fits(phone)
    row = phone.locator("#results tbody tr").filter(has_text=lead.number)
    for text in (lead.number, "Maximiliane", "New", str(rep), "Call back about the renewal"):
        _on_screen(row.get_by_text(text, exact=False).first)
    _on_screen(row.locator("td[data-label='Status']"))
    _on_screen(row.locator("td[data-label='Owner']"))
    _on_screen(row.locator("td[data-label='Next action']"))
