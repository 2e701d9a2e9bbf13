"""A rep's deal, in a real browser (Debian's Chromium, driven by Playwright): convert a
qualified lead, then drag its card across the pipeline board until it is won."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import User
from deals.models import Deal, Stage
from leads.models import Lead, LostReason
from tests.deals.helpers import qualified_lead
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEAL_URL = re.compile(r"/deals/\d+/$")
# A screenshot for people to look at (not asserted on).
BOARD_SHOT = "/tmp/board.png"  # noqa: S108


def test_rep_converts_a_lead_and_drags_the_deal_to_won(
    live_server: Any, page: Any, rep: User, stages: dict[str, Stage], reason: LostReason
) -> None:
    from playwright.sync_api import expect

    lead = qualified_lead(rep, owner=rep, first_name="Olga", last_name="Buyer", company="Initech")
    assert lead.status == Lead.Status.QUALIFIED

    # Sign in through the form, landing on the lead that was asked for.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")

    # Convert it: the form comes prefilled; start in Meeting set.
    page.get_by_role("link", name="Convert to deal").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/convert/")
    expect(page.get_by_label("Title")).to_have_value("Initech – Olga Buyer")
    page.get_by_label("Value", exact=True).fill("4200")
    page.get_by_label("Stage").select_option(label="Meeting set")
    page.get_by_role("button", name="Convert to deal").click()
    page.wait_for_url(DEAL_URL)
    deal = Deal.objects.get(source_lead=lead)
    assert page.url == f"{live_server.url}/deals/{deal.pk}/"
    expect(page.locator("#deal-stage")).to_have_text("Meeting set")

    # The board, through its tab.
    page.get_by_role("link", name="Deals", exact=True).first.click()
    page.get_by_role("link", name="Board", exact=True).click()
    page.wait_for_url(f"{live_server.url}/deals/board/")

    def column(name: str) -> Any:
        return page.locator(".board-column", has=page.get_by_role("heading", name=name, exact=True))

    card = page.locator(f"#deal-{deal.pk}")
    expect(column("Meeting set").locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(card).to_contain_text("Initech – Olga Buyer")
    expect(card).to_contain_text("Initech")
    expect(card).to_contain_text("4,200 USD")
    expect(column("Meeting set").locator(".board-count")).to_have_text("1 deal")

    # Drag it to Proposal sent: the board reloads with the card there.
    card.drag_to(column("Proposal sent").locator(".board-cards"), steps=5)
    expect(column("Proposal sent").locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(column("Meeting set").locator(f"#deal-{deal.pk}")).to_have_count(0)
    expect(column("Proposal sent").locator(".board-total")).to_have_text("4,200 USD")
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal sent"]

    # Dropping on Lost does not post: a lost reason is needed, the card's form asks for it.
    card.drag_to(column("Lost").locator(".board-cards"), steps=5)
    expect(page.get_by_role("alert")).to_have_text(
        "Choose a lost reason in the card's form to mark it lost."
    )
    expect(card.locator("details")).to_have_attribute("open", "")
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal sent"]

    # Drag it to Won: closed.
    page.reload()
    card.drag_to(column("Won").locator(".board-cards"), steps=5)
    expect(column("Won").locator(f"#deal-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage.kind == Stage.Kind.WON
    assert deal.closed_at is not None
    assert list(deal.stage_changes.values_list("to_stage__name", flat=True)) == [
        "Meeting set",
        "Proposal sent",
        "Won",
    ]
    page.screenshot(path=BOARD_SHOT, full_page=True)
