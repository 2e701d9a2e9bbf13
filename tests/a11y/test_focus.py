"""Where focus lands after an htmx update or a full-page post, and what screen readers are
told: focus stays on the updated control (or its region's heading), never on <body>;
confirmations and result counts are written into the page's persistent live region,
whose text changes in place; the "Loading…" status is out of the tree between requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from leads import services
from leads.models import Lead
from tests.a11y.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The live region is marked once; a region that were replaced would lose the mark.
MARK_LIVE = "document.getElementById('live-status').dataset.kept = 'yes'"
LIVE_KEPT = "document.getElementById('live-status').dataset.kept === 'yes'"


@pytest.fixture
def lead(rep: User) -> Lead:
    return services.lead_create(
        actor=rep, owner=rep, first_name="Rita", last_name="Quinn", email="rita@acme.example"
    )


@pytest.fixture
def task(rep: User, lead: Lead) -> Task:
    return followups.task_create(
        actor=rep, title="Call Rita", kind=Task.Kind.CALL, lead=lead,
        due_at=timezone.now() + timedelta(hours=3),
    )  # fmt: skip


def test_task_row_actions_keep_focus_in_the_row_and_say_what_happened(
    live_server: Any, page: Any, rep: User, task: Task
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/tasks/")
    page.evaluate(MARK_LIVE)
    row = page.locator(f"#task-{task.pk}")
    live = page.locator("#live-status")

    # +1 day: the row is replaced and its Reschedule menu closes; focus is on that menu.
    row.get_by_text("Reschedule").click()
    row.get_by_role("button", name="+1 day").focus()
    page.keyboard.press("Enter")
    expect(live).to_contain_text("Rescheduled: “Call Rita”")
    expect(row.locator("summary", has_text="Reschedule")).to_be_focused()

    # Complete: focus goes to the row's Reopen, the next thing one can do with it.
    row.get_by_role("button", name="Complete").focus()
    page.keyboard.press("Enter")
    expect(row.get_by_role("button", name="Reopen")).to_be_focused()
    expect(live).not_to_contain_text("Rescheduled")
    expect(live).not_to_be_empty()
    assert page.evaluate(LIVE_KEPT)

    # Switching tabs swaps the list: focus stays on the tab just chosen.
    tabs = page.get_by_role("navigation", name="Which tasks")
    tabs.get_by_role("link", name="Done").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/tasks/?show=done")
    expect(tabs.get_by_role("link", name="Done")).to_be_focused()
    expect(tabs.get_by_role("link", name="Done")).to_have_attribute("aria-current", "page")


def test_adding_a_task_on_a_lead_keeps_focus_in_the_panel_and_announces_it(
    live_server: Any, page: Any, rep: User, lead: Lead
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.evaluate(MARK_LIVE)
    panel = page.locator("#tasks-panel")
    due = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    panel.get_by_label("New task").fill("Send the quote")
    panel.get_by_label("Due").fill(due)
    panel.get_by_role("button", name="Add task").focus()
    page.keyboard.press("Enter")

    expect(page.locator("#live-status")).to_contain_text("Send the quote")
    expect(panel.get_by_role("button", name="Add task")).to_be_focused()
    assert page.evaluate(LIVE_KEPT)

    # Completing it from the panel: its Complete button is gone, focus is on the heading.
    panel.get_by_role("button", name="Complete").focus()
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("No open tasks")
    expect(panel.get_by_role("heading", name="Tasks")).to_be_focused()


def test_a_task_refused_in_the_panel_puts_focus_on_the_field_to_fix(
    live_server: Any, page: Any, rep: User, lead: Lead
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.locator("#tasks-panel")
    # Past the browser's own check of required fields, to the server's answer.
    page.evaluate(
        "document.querySelectorAll('#tasks-panel [required]').forEach(e => e.required = false)"
    )
    panel.get_by_label("New task").fill("Call back")
    panel.get_by_label("Due").fill("")
    panel.get_by_role("button", name="Add task").focus()
    page.keyboard.press("Enter")
    invalid = panel.locator(".is-invalid").first
    expect(invalid).to_be_visible()
    expect(invalid).to_be_focused()


def test_a_search_announces_the_new_count_and_loading_is_not_left_in_the_tree(
    live_server: Any, page: Any, rep: User, lead: Lead
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/")
    page.evaluate(MARK_LIVE)
    expect(page.locator("#results-spinner")).to_be_hidden()
    search = page.get_by_label("Search")
    search.fill("nobody is called this")
    search.press("Enter")
    expect(page.locator("#live-status")).to_have_text("0 leads")
    expect(search).to_be_focused()
    expect(page.locator("#results-spinner")).to_be_hidden()
    search.fill("Rita")
    search.press("Enter")
    expect(page.locator("#live-status")).to_have_text("1 lead")
    assert page.evaluate(LIVE_KEPT)


def test_after_a_full_page_post_focus_is_on_the_confirmation(
    live_server: Any, page: Any, rep: User, lead: Lead
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/{lead.pk}/edit/")
    page.get_by_label("Company").fill("Acme")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    messages = page.locator("#main .messages")
    expect(messages).to_be_focused()
    expect(messages.get_by_role("alert")).to_contain_text("saved")


# The focused element's outline against the first opaque background behind it.
RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let behind = el.parentElement;
  while (behind && (rgb(getComputedStyle(behind).backgroundColor)[3] ?? 1) === 0) {
    behind = behind.parentElement;
  }
  const bg = behind ? rgb(getComputedStyle(behind).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(style.outlineColor)), lum(bg)].sort((x, y) => y - x);
  return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          ratio: (a + 0.05) / (b + 0.05)};
}"""


def test_the_focus_ring_is_solid_and_3_to_1_on_the_page_and_in_the_dark_navbar(
    live_server: Any, page: Any, rep: User, lead: Lead
) -> None:
    sign_in(page, live_server.url, rep)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.keyboard.press("Tab")  # the skip link, then the navbar's links
    page.keyboard.press("Tab")
    in_navbar = page.evaluate(RING)
    page.get_by_label("Note", exact=True).focus()
    page.keyboard.press("Tab")
    on_the_page = page.evaluate(RING)
    for where, ring in {"navbar": in_navbar, "page": on_the_page}.items():
        assert ring["style"] == "solid", (where, ring)
        assert ring["width"] >= 2, (where, ring)
        assert ring["ratio"] >= 3, (where, ring)
