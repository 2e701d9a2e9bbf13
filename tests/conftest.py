from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Membership, Team, User
from accounts.roles import Role
from leads.models import LostReason, Tag
from tests.factories import add_to_team, make_team, make_user


@pytest.fixture
def team() -> Team:
    return make_team(name="North")


@pytest.fixture
def other_team() -> Team:
    return make_team(name="South")


@pytest.fixture
def rep(team: Team) -> User:
    return add_to_team(team, make_user(email="rep.a@example.com", role=Role.REP))


@pytest.fixture
def rep_b(team: Team) -> User:
    return add_to_team(team, make_user(email="rep.b@example.com", role=Role.REP))


@pytest.fixture
def manager(team: Team) -> User:
    return add_to_team(
        team, make_user(email="manager@example.com", role=Role.MANAGER), Membership.Role.MANAGER
    )


@pytest.fixture
def other_manager(other_team: Team) -> User:
    return add_to_team(
        other_team,
        make_user(email="other.manager@example.com", role=Role.MANAGER),
        Membership.Role.MANAGER,
    )


@pytest.fixture
def admin(db: None) -> User:
    return make_user(email="admin@example.com", role=Role.ADMIN)


# Rows that data migrations create are wiped by the flush after a transactional test, so
# tests ask for them through these fixtures instead of assuming they exist.
@pytest.fixture
def reason(db: None) -> LostReason:
    return LostReason.objects.get_or_create(name="No budget")[0]


@pytest.fixture
def tag(db: None) -> Tag:
    return Tag.objects.get_or_create(name="Priority")[0]


# --- Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser) ---

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # are synchronous and safe, so Django's async guard is lifted while the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            from playwright.sync_api import expect

            # On a busy two-core machine the live server can take longer than Playwright's
            # 5 s default to answer an htmx swap; a real failure still fails, later.
            expect.set_options(timeout=15_000)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
