"""The profile page's API tokens section, in a browser, through axe: making a token (the
one-time display), the list with active and revoked tokens, and the form's errors."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from accounts.services import api_token_create, api_token_revoke
from tests.a11y.conftest import WIDTHS, sign_in
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_tokens_section_has_no_axe_violation(
    live_server: Any, browser: Any, audit: Any
) -> None:
    user: User = make_user(email="tokens@example.com", role=Role.REP)
    old, _ = api_token_create(user=user, name="Old script")
    api_token_revoke(token=old)
    found: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            sign_in(page, live_server.url, user)
            page.goto(f"{live_server.url}/accounts/profile/")
            page.get_by_label("Token name").fill(f"Sheet sync {width}")
            page.get_by_label("Expires after (days)").fill("30")
            page.get_by_role("button", name="Create token").click()
            page.get_by_label("Your new token").wait_for()
            found += audit(page, f"{width}px new token")
            page.get_by_label("Expires after (days)").fill("0")
            page.get_by_role("button", name="Create token").click()
            page.wait_for_load_state()
            found += audit(page, f"{width}px token form errors")
            page.get_by_role("button", name=f"Revoke token Sheet sync {width}").click()
            page.get_by_text(f"Token “Sheet sync {width}” revoked").wait_for()
            found += audit(page, f"{width}px after revoking")
        finally:
            context.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)
