"""The pipeline board by keyboard: each column is one tab stop (its current card, then that
card's own link and Move control), the arrow keys go between cards and columns, and a move made
with the card's form comes back with focus on the moved card; without JavaScript the same
form still moves the deal and comes back to the card."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import User
from deals.models import Deal
from tests.a11y.conftest import sign_in
from tests.deals.helpers import ensure_stages, make_deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Everything Tab can reach inside the board, in tab order.
TABBABLE_IN_BOARD = """[...document.querySelectorAll(
  '#board a[href], #board summary, #board button, #board select, #board [tabindex]')]
  .filter(e => e.tabIndex >= 0 && e.checkVisibility({visibilityProperty: true}))
  .map(e => e.id || e.tagName)"""


@pytest.fixture
def deals(rep: User) -> dict[str, Deal]:
    ensure_stages()
    return {
        "first": make_deal(rep, company="Alpha"),
        "second": make_deal(rep, company="Bravo"),
        "third": make_deal(rep, company="Charlie"),
        "proposal": make_deal(rep, company="Delta", stage="Proposal sent"),
        "negotiation": make_deal(rep, company="Echo", stage="Negotiation"),
    }


def _card(page: Any, deal: Deal) -> Any:
    return page.locator(f"#deal-{deal.pk}")


def _column(page: Any, name: str) -> Any:
    return page.locator(".board-column", has=page.get_by_role("heading", name=name, exact=True))


def test_each_column_is_one_tab_stop_and_arrow_keys_go_between_cards_and_columns(
    live_server: Any, page: Any, rep: User, deals: dict[str, Deal]
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/deals/board/")
    newest_first = page.locator(".board-card").first
    # One card per column is in the tab order, with its link and its Move control: three
    # columns with deals, nine tab stops for five cards (it was two per card, with no end).
    tabbable = page.evaluate(TABBABLE_IN_BOARD)
    assert len(tabbable) == 9, tabbable
    assert tabbable[::3] == [
        newest_first.get_attribute("id"),
        f"deal-{deals['proposal'].pk}",
        f"deal-{deals['negotiation'].pk}",
    ]

    page.get_by_role("link", name="Clear").focus()
    page.keyboard.press("Tab")
    expect(newest_first).to_be_focused()
    expect(newest_first).to_have_attribute("aria-label", re.compile(r", in Meeting set$"))

    # The column's three cards, down and up; Home and End.
    meeting = _column(page, "Meeting set").locator(".board-card")
    expect(meeting).to_have_count(3)
    page.keyboard.press("ArrowDown")
    expect(meeting.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(meeting.nth(2)).to_be_focused()
    page.keyboard.press("Home")
    expect(meeting.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(meeting.nth(1)).to_be_focused()

    # Right: the card of the next column; right again; left back.
    page.keyboard.press("ArrowRight")
    expect(_card(page, deals["proposal"])).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(_card(page, deals["negotiation"])).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(_card(page, deals["proposal"])).to_be_focused()

    # Down in Meeting set made its second card that column's tab stop.
    assert page.evaluate(TABBABLE_IN_BOARD)[0] == meeting.nth(1).get_attribute("id")
    page.keyboard.press("Shift+Tab")  # the Move control of Meeting set's current card
    page.keyboard.press("Tab")
    expect(_card(page, deals["proposal"])).to_be_focused()
    expect(meeting.nth(0)).to_have_attribute("tabindex", "-1")


def test_a_keyboard_move_keeps_focus_on_the_moved_card(
    live_server: Any, page: Any, rep: User, deals: dict[str, Deal]
) -> None:
    from playwright.sync_api import expect

    deal = deals["first"]
    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/deals/board/")
    card = _card(page, deal)
    card.focus()
    page.keyboard.press("Tab")  # its link
    page.keyboard.press("Tab")  # its Move control
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    stage = page.get_by_label(f"Stage for {deal.title}")
    expect(stage).to_be_focused()
    stage.select_option(label="Proposal sent")
    page.keyboard.press("Tab")  # the lost reason
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Move")).to_be_focused()
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/deals/board/#deal-{deal.pk}")
    moved = _column(page, "Proposal sent").locator(f"#deal-{deal.pk}")
    expect(moved).to_be_focused()
    expect(page.locator("#live-status")).to_have_text("Moved to Proposal sent.")
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal sent"


def test_without_javascript_the_card_form_moves_the_deal_and_comes_back_to_it(
    live_server: Any, browser: Any, rep: User, deals: dict[str, Deal]
) -> None:
    from playwright.sync_api import expect

    deal = deals["second"]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, rep)
        page.goto(f"{live_server.url}/deals/board/")
        card = _card(page, deal)
        card.locator("summary").click()
        card.get_by_label(f"Stage for {deal.title}").select_option(label="Negotiation")
        card.get_by_role("button", name="Move").click()
        page.wait_for_url(f"**/deals/board/#deal-{deal.pk}")
        expect(_column(page, "Negotiation").locator(f"#deal-{deal.pk}")).to_be_visible()
        deal.refresh_from_db()
        assert deal.stage.name == "Negotiation"
    finally:
        context.close()
