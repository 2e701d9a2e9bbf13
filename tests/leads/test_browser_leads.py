"""A rep's day with one lead, in a real browser (Debian's Chromium, driven by Playwright):
duplicate warning on create, log a call, set the next action, qualify."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from crm.models import AuditEvent
from leads import services
from leads.models import Lead, LeadNote
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DETAIL_URL = re.compile(r"/leads/\d+/$")
# Screenshots for people to look at (not asserted on).
DETAIL_SHOT = "/tmp/lead_detail.png"  # noqa: S108
LIST_SHOT = "/tmp/lead_list.png"  # noqa: S108


def test_rep_creates_a_lead_past_the_duplicate_warning_and_works_it(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    existing = services.lead_create(
        actor=rep, first_name="Dana", last_name="Existing", company="Acme", email="dup@example.com"
    )

    # Sign in through the form; the list was asked for, so the list comes back.
    page.goto(f"{live_server.url}/leads/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/")
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=existing.number)).to_be_visible()

    # New lead with the email of a lead the rep already has: warned, nothing saved yet.
    page.get_by_role("link", name="New lead").first.click()
    page.wait_for_url(f"{live_server.url}/leads/new/")
    page.get_by_label("First name", exact=True).fill("Nina")
    page.get_by_label("Last name", exact=True).fill("Newcomer")
    page.get_by_label("Company", exact=True).fill("Globex")
    page.get_by_label("Email", exact=True).fill("dup@example.com")
    page.get_by_role("button", name="Create lead").click()
    warning = page.locator("#duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(existing.number)
    expect(warning).to_contain_text("Dana Existing")
    assert Lead.objects.count() == 1
    expect(page.get_by_label("First name", exact=True)).to_have_value("Nina")

    # It is someone else: save anyway, and land on the new lead.
    page.get_by_role("button", name="It is a different lead: save anyway").click()
    page.wait_for_url(DETAIL_URL)
    lead = Lead.objects.exclude(pk=existing.pk).get()
    assert page.url == f"{live_server.url}/leads/{lead.pk}/"
    expect(
        page.get_by_role("alert").filter(has_text=f"Lead {lead.number} created.")
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nina Newcomer")
    status = page.locator("#lead-status")
    expect(status).to_have_text("New")
    duplicates = page.locator("section[aria-labelledby=dup-heading]")
    expect(duplicates).to_contain_text(f"{existing.number} Dana Existing")

    # Log a call, submitting with Enter from the Outcome field (the keyboard path).
    activity = page.locator("section[aria-labelledby=note-heading]")
    activity.get_by_label("Kind").select_option(label="Call")
    activity.get_by_label("Note", exact=True).fill("Called Nina: wants a demo next week.")
    activity.get_by_label("Outcome").fill("Interested")
    activity.get_by_label("Outcome").press("Enter")
    expect(page.get_by_role("alert").filter(has_text="Call logged.")).to_be_visible()
    expect(status).to_have_text("Contacted")
    timeline = page.locator("section[aria-labelledby=timeline-heading]")
    expect(timeline).to_contain_text("Called Nina: wants a demo next week.")
    expect(timeline.locator(".badge", has_text="Call")).to_have_count(1)

    # Set the next action with a due date and time.
    assert rep.timezone == "UTC"  # the form reads the time in the rep's timezone
    due = (timezone.now() + timedelta(days=1)).replace(hour=10, minute=30, second=0, microsecond=0)
    next_action = page.locator("section[aria-labelledby=next-heading]")
    next_action.get_by_label("What").fill("Book the demo")
    next_action.get_by_label("Due").fill(due.strftime("%Y-%m-%dT%H:%M"))
    next_action.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="Next action saved.")).to_be_visible()
    expect(
        page.locator("section[aria-labelledby=next-heading]").get_by_label("What")
    ).to_have_value("Book the demo")

    # Qualify it.
    page.get_by_role("button", name="Qualified", exact=True).click()
    expect(
        page.get_by_role("alert").filter(has_text="Status changed to Qualified.")
    ).to_be_visible()
    expect(status).to_have_text("Qualified")

    page.screenshot(path=DETAIL_SHOT, full_page=True)
    page.goto(f"{live_server.url}/leads/")
    expect(page.get_by_role("link", name=lead.number)).to_be_visible()
    page.screenshot(path=LIST_SHOT, full_page=True)

    # What the database says happened.
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED
    assert lead.owner == rep
    assert lead.email == "dup@example.com"
    assert lead.first_contacted_at is not None
    assert lead.qualified_at is not None
    assert lead.next_action == "Book the demo"
    assert lead.next_action_due == due
    notes = list(LeadNote.objects.filter(lead=lead))
    assert [(n.kind, n.body, n.outcome, n.author) for n in notes] == [
        ("call", "Called Nina: wants a demo next week.", "Interested", rep)
    ]
    events = list(AuditEvent.objects.for_object(lead).order_by("occurred_at", "id"))
    assert [(e.action, e.actor) for e in events] == [
        ("created", rep),
        ("status", rep),
        ("next_action", rep),
        ("status", rep),
    ]
    assert events[1].changes == {"status": ["New", "Contacted"]}
    assert events[3].changes == {"status": ["Contacted", "Qualified"]}
    existing.refresh_from_db()
    assert existing.status == Lead.Status.NEW  # the other lead was left alone
    assert existing.version == 1
