"""Helpers for the accessibility tests: the demo data, signing in, and axe-core (bundled in
axe-playwright-python, injected into the page: nothing is fetched at run time)."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.factories import PASSWORD

# WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices (landmarks, heading order…).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}

WIDTHS = (1280, 320)


@pytest.fixture
def demo(transactional_db: None) -> dict[str, User]:
    """The demo team and its few hundred leads, deals and tasks: every status, stage, red
    row and badge the pages can show."""
    call_command("seed_demo", password=PASSWORD, stdout=StringIO())
    return {
        role: User.objects.get(email=f"{role}@example.com")
        for role in ("admin", "manager", "rep1", "rep2")
    }


def sign_in(page: Any, base: str, user: User) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def axe_violations(page: Any, where: str) -> list[str]:
    """Every axe violation on the page as it is now, one line per rule and node."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS).response
    return [
        f"{where}: {rule['id']} ({rule['impact']}) {node['target']} {node['html'][:160]}"
        f" — {node['failureSummary'].splitlines()[-1].strip()}"
        for rule in results["violations"]
        for node in rule["nodes"]
    ]


@pytest.fixture
def audit() -> Callable[..., list[str]]:
    """Scan a page with every <details> open: the Reschedule and Reassign panels, the tag
    menus and the board's move forms hold controls that axe skips while they are closed."""

    def scan(page: Any, where: str) -> list[str]:
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
        return axe_violations(page, where)

    return scan
