"""A rep's follow-up in a real browser (Debian's Chromium, driven by Playwright): add a task
on the lead page, find it in /tasks/, complete it with an outcome, read the note on the lead."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from crm.followups.models import Task
from leads import services
from leads.models import Lead, LeadNote
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST_SHOT = "/tmp/task_list.png"  # noqa: S108  (for people to look at, not asserted on)


def test_rep_plans_a_call_on_a_lead_and_completes_it_with_an_outcome(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    lead = services.lead_create(
        actor=rep, first_name="Rita", last_name="Quinn", company="Acme", email="rita@acme.example"
    )
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")

    # Add a task in the lead's panel: htmx swaps the panel, the page stays.
    panel = page.locator("#tasks-panel")
    expect(panel).to_contain_text("No open tasks")
    due = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    panel.get_by_label("New task").fill("Call Rita about the quote")
    panel.get_by_label("Kind").select_option("call")
    panel.get_by_label("Due").fill(due)
    panel.get_by_label("Remind").select_option("15")
    panel.get_by_role("button", name="Add task").click()
    expect(panel).to_contain_text("Task “Call Rita about the quote” added")
    expect(panel.get_by_role("link", name="Call Rita about the quote")).to_be_visible()
    assert page.url == f"{live_server.url}/leads/{lead.pk}/"
    task = Task.objects.get()
    assert (task.kind, task.assignee, task.lead) == ("call", rep, lead)
    assert task.remind_at == task.due_at - timedelta(minutes=15)

    # It is in the rep's task list, under Upcoming too.
    page.get_by_role("link", name="Tasks", exact=True).click()
    page.wait_for_url(f"{live_server.url}/tasks/")
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("Call Rita about the quote")
    expect(row).to_contain_text(lead.number)
    page.get_by_role("link", name=re.compile(r"^Upcoming")).click()
    expect(page).to_have_url(re.compile(r"show=upcoming"))
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_be_visible()
    page.screenshot(path=LIST_SHOT, full_page=True)

    # Complete it with an outcome, in one click: the row turns into a done row.
    row.get_by_label("Outcome (logged on the lead)").fill("Wants a quote for 20 seats")
    row.get_by_role("button", name="Complete").click()
    done_row = page.locator(f"#task-{task.pk}")
    expect(done_row).to_contain_text("Done: “Call Rita about the quote”")
    expect(done_row.get_by_role("button", name="Reopen")).to_be_visible()

    # The outcome is on the lead's timeline, and the lead has been contacted.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    timeline = page.locator("section[aria-labelledby='timeline-heading']")
    expect(timeline).to_contain_text("Wants a quote for 20 seats")
    expect(page.locator("#lead-status")).to_have_text("Contacted")
    expect(page.locator("#tasks-panel")).to_contain_text("No open tasks")
    note = LeadNote.objects.get(lead=lead)
    assert (note.kind, note.outcome) == ("call", "Wants a quote for 20 seats")
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED
