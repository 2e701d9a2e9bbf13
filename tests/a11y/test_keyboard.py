"""The four core tasks with the keyboard alone (Tab, Enter, arrow keys; no mouse), checking
where focus lands after each step: open a lead from the list, log a call on it, change its
status, move a deal on the board."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from deals.models import Deal
from leads import services
from leads.models import Lead, LeadNote
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = "document.activeElement"


def _tab_to(page: Any, matches: str, limit: int = 120) -> int:
    """Press Tab until the focused element matches the CSS selector; how many presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"{ACTIVE}.matches({matches!r})"):
            return presses
    raise AssertionError(f"{matches} not reached in {limit} Tabs")


def _focused_text(page: Any) -> str:
    return page.evaluate(f"{ACTIVE}.textContent.trim().replace(/\\s+/g, ' ')")


@pytest.fixture
def lead(rep: User) -> Lead:
    lead = services.lead_create(
        actor=rep, owner=rep, first_name="Nora", last_name="Keys", email="nora@keys.example"
    )
    return services.lead_set_next_action(
        lead=lead, actor=rep, next_action="Call", due=timezone.now() + timedelta(days=1)
    )


@pytest.fixture
def deal(rep: User) -> Deal:
    ensure_stages()
    return make_deal(rep, company="Keyboard Ltd")


def test_the_four_core_tasks_by_keyboard_alone(
    live_server: Any, page: Any, rep: User, lead: Lead, deal: Deal
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    page.goto(f"{base}/leads/")
    page.get_by_label("Email address").focus()
    page.keyboard.type(rep.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/leads/")

    # The first Tab is the skip link; it takes focus past the navigation into the content.
    page.keyboard.press("Tab")
    assert _focused_text(page) == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate(f"{ACTIVE}.id") == "main"

    # 1. Open the lead from the list.
    _tab_to(page, f'#results a[href="/leads/{lead.pk}/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nora Keys")

    # 2. Log a call: Kind is already "Call"; the note, then the button.
    _tab_to(page, "#id_kind")
    assert page.evaluate(f"{ACTIVE}.value") == "call"
    page.keyboard.press("Tab")
    page.keyboard.type("Left a voicemail about the renewal")
    _tab_to(page, "button[type=submit]", limit=5)
    assert _focused_text(page) == "Log it"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    # Focus lands on the confirmation, at the top of the content.
    messages = page.locator("#main .messages")
    expect(messages).to_be_focused()
    expect(messages).to_contain_text("Call logged.")
    assert LeadNote.objects.filter(lead=lead, kind="call").count() == 1

    # 3. Change its status (the call made it Contacted): from the confirmation, on to the
    # "Move to" buttons.
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    _tab_to(page, 'button[name=status][value="qualified"]', limit=30)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#main .messages")).to_be_focused()
    expect(page.locator("#main .messages")).to_contain_text("Status changed to Qualified.")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED

    # 4. Move the deal on the board: to its card, its Move control, a stage, Move.
    page.goto(f"{base}/deals/board/")
    card = page.locator(f"#deal-{deal.pk}")
    presses = _tab_to(page, f"#deal-{deal.pk}")
    assert presses < 30, f"{presses} Tabs to the board's first card"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused_text(page).startswith("Move")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    stage = card.get_by_label(f"Stage for {deal.title}")
    expect(stage).to_be_focused()
    expect(stage.locator("option:checked")).to_have_text("Proposal sent")
    page.keyboard.press("ArrowDown")
    expect(stage.locator("option:checked")).to_have_text("Negotiation")
    _tab_to(page, "button[type=submit]", limit=3)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/deals/board/#deal-{deal.pk}")
    expect(page.locator(f"#deal-{deal.pk}")).to_be_focused()
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation"
