"""A manager finds two duplicates, merges them from the preview and undoes it, in a real
browser (Debian's Chromium, driven by Playwright), with the keyboard for the choice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import User
from leads.models import Lead
from tests.factories import PASSWORD, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DETAIL_URL = re.compile(r"/leads/\d+/$")


def test_duplicates_preview_merge_and_undo(
    live_server: Any, page: Any, manager: User, rep: User
) -> None:
    from playwright.sync_api import expect

    old = make_lead(rep, first_name="Ann", last_name="Lee", company="Acme", email="ann@acme.com")
    new = make_lead(rep, first_name="Anne", last_name="Lee", email="ann@acme.com")

    page.goto(f"{live_server.url}/leads/duplicates/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/duplicates/")
    expect(page.get_by_text("Same email address")).to_be_visible()

    page.get_by_role("link", name="Review and merge").click()
    page.wait_for_url(re.compile(r"/leads/merge/\?ids="))
    # The newer first name is preselected; keep the older one, by keyboard.
    expect(page.get_by_label("Anne", exact=True)).to_be_checked()
    page.get_by_label("Ann", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Ann", exact=True)).to_be_checked()
    page.get_by_role("button", name="Merge 2 leads").click()

    page.wait_for_url(DETAIL_URL)
    assert page.url == f"{live_server.url}/leads/{old.pk}/"
    expect(page.get_by_text(f"Merged {new.number} into {old.number}.")).to_be_visible()
    survivor = Lead.objects.get(pk=old.pk)
    assert survivor.first_name == "Ann"
    assert Lead.objects.get(pk=new.pk).merged_into_id == old.pk

    # The old URL of the merged-away lead leads here.
    page.goto(f"{live_server.url}/leads/{new.pk}/")
    page.wait_for_url(f"{live_server.url}/leads/{old.pk}/")
    expect(page.get_by_text(f"{new.number} was merged into {old.number}")).to_be_visible()

    page.get_by_role("button", name="Undo this merge").click()
    page.wait_for_url(f"{live_server.url}/leads/{old.pk}/")
    expect(page.get_by_text("The merge was undone")).to_be_visible()
    assert Lead.objects.get(pk=new.pk).merged_into_id is None
