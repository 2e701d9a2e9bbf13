"""Reflow (WCAG 1.4.10): at 320 CSS px wide, what 1280 px looks like at 400 % zoom, the
main pages scroll only up and down. The board's own row of columns may scroll sideways
inside itself; the page around it may not. Checked on the demo data, whose names, amounts
and dates are as long as real ones, with every <details> open."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from leads.models import Lead
from tests.a11y.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 320

WIDER_THAN_THE_PAGE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
               && !e.closest('.board, .visually-hidden, .table-stack thead'))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""


def test_the_main_pages_do_not_scroll_sideways_at_320_px(
    live_server: Any, browser: Any, demo: dict[str, User]
) -> None:
    wide: dict[str, Any] = {}
    for role in ("rep1", "manager"):
        user = demo[role]
        lead = Lead.objects.visible_to(user).exclude(deal=None).order_by("pk").first()
        assert lead is not None
        context = browser.new_context(viewport={"width": WIDTH, "height": 640})
        page = context.new_page()
        try:
            sign_in(page, live_server.url, user)
            for path in [
                "/leads/",
                f"/leads/{lead.pk}/",
                "/tasks/",
                "/deals/board/",
                "/deals/forecast/",
                "/notifications/",
            ]:
                page.goto(f"{live_server.url}{path}")
                page.evaluate(
                    "document.querySelectorAll('details').forEach(d => { d.open = true })"
                )
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > WIDTH:
                    wide[f"{role} {path}"] = (width, page.evaluate(WIDER_THAN_THE_PAGE))
        finally:
            context.close()
    assert not wide, f"pages wider than {WIDTH} px: {wide}"
