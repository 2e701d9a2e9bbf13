"""axe-core (WCAG 2.0/2.1 A and AA plus best practices) in Debian's Chromium over every page
of the app as each role, at 1280 px and at 320 px (400 % zoom), and over the states that
only appear after a click: open menus and <details>, form errors, the duplicate warning,
empty results and htmx-swapped partials. Any violation, at any impact, fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from crm.followups.models import Task
from deals.models import Deal, Stage
from leads.models import Lead
from leads.webforms.models import WebForm
from tests.a11y.conftest import WIDTHS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Audit = Callable[[Any, str], list[str]]


def _pages(user: User) -> list[str]:
    """The pages this user reaches from the navigation and from one record of each kind."""
    leads = Lead.objects.visible_to(user).order_by("pk")
    lead = leads.filter(status=Lead.Status.NEW).first() or leads.first()
    qualified = leads.filter(status=Lead.Status.QUALIFIED, deal__isnull=True).first()
    deal = Deal.objects.visible_to(user).exclude(contact=None).order_by("pk").first()
    task = Task.objects.visible_to(user).filter(done_at=None).order_by("pk").first()
    assert lead is not None
    assert deal is not None
    assert task is not None
    pages = [
        "/",
        "/leads/",
        "/leads/?due=overdue&sort=due",
        "/leads/new/",
        f"/leads/{lead.pk}/",
        f"/leads/{lead.pk}/edit/",
        f"/leads/{lead.pk}/email/",
        "/deals/",
        "/deals/board/",
        "/deals/forecast/",
        f"/deals/{deal.pk}/",
        f"/deals/{deal.pk}/edit/",
        "/deals/contacts/",
        "/deals/companies/",
        f"/deals/contacts/{deal.contact_id}/",
        "/tasks/",
        "/tasks/?show=overdue",
        "/tasks/?show=done",
        "/tasks/new/",
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/edit/",
        "/notifications/",
        "/dashboard/",
        "/accounts/profile/",
        "/accounts/password_change/",
        "/leads/email-templates/",
    ]
    if deal.company_id:
        pages.append(f"/deals/companies/{deal.company_id}/")
    if qualified:
        pages += [f"/leads/{qualified.pk}/", f"/leads/{qualified.pk}/convert/"]
    for status in (Lead.Status.CONVERTED, Lead.Status.LOST):
        closed = leads.filter(status=status).first()
        if closed:
            pages.append(f"/leads/{closed.pk}/")
    won = Deal.objects.visible_to(user).filter(stage__kind=Stage.Kind.WON).order_by("pk").first()
    if won:
        pages.append(f"/deals/{won.pk}/")
    pages += [f"/deals/{deal.pk}/email/", "/accounts/password_change/done/"]
    if user.has_perm("accounts.view_team") or user.has_perm("accounts.view_all"):
        pages += ["/leads/duplicates/", "/deals/contacts/duplicates/", "/leads/import/"]
        two = ",".join(str(pk) for pk in leads.values_list("pk", flat=True)[:2])
        pages.append(f"/leads/merge/?ids={two}")
    if user.is_staff:
        pages.append("/admin/")
    return pages


def _visit(page: Any, base: str, path: str) -> None:
    response = page.goto(f"{base}{path}")
    assert response is not None
    # /leads/0/ is the not-found page, audited like any other.
    assert response.status == (404 if path == "/leads/0/" else 200), f"{path}: {response.status}"


def _states(page: Any, base: str, user: User, width: int, audit: Audit) -> list[str]:
    """What a click, a bad form or a search brings up."""
    found: list[str] = []
    at = f"{user.email} {width}px"

    _visit(page, base, "/")
    if width < 768:
        page.get_by_role("button", name="Toggle navigation").click()
        page.locator("#main-nav.show").wait_for()
    page.locator("#main-nav .dropdown-toggle").click()
    page.locator("#main-nav .dropdown-menu.show").wait_for()
    found += audit(page, f"{at} / with the user menu open")

    _visit(page, base, "/leads/new/")
    page.get_by_role("button", name="Create lead").click()
    page.wait_for_load_state()
    found += audit(page, f"{at} /leads/new/ with errors")

    existing = Lead.objects.visible_to(user).exclude(email="").order_by("pk").first()
    _visit(page, base, "/leads/new/")
    page.get_by_label("First name").fill("Another")
    page.get_by_label("Last name").fill("Person")
    page.get_by_label("Email", exact=True).fill(existing.email)
    page.get_by_role("button", name="Create lead").click()
    page.locator("#duplicate-warning").wait_for()
    found += audit(page, f"{at} /leads/new/ with the duplicate warning")

    _visit(page, base, "/leads/")
    # htmx bound to the form before typing, then the swap's own response awaited: under a
    # loaded CI the Enter could otherwise land before either.
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("Search").fill("no lead is called this")
    with page.expect_response(lambda r: "/leads/?" in r.url and "q=no" in r.url):
        page.get_by_label("Search").press("Enter")
    # What the swap shows (a count, or the empty state), settled: that is what is audited.
    page.wait_for_load_state("networkidle")
    page.locator("#results").wait_for()
    found += audit(page, f"{at} /leads/ searched, nothing found (htmx)")

    _visit(page, base, "/tasks/")
    rows = page.locator("#task-results tbody tr", has=page.get_by_role("button", name="Complete"))
    if rows.count():  # the admin has no tasks of their own
        row = page.locator(f"#{rows.first.get_attribute('id')}")
        row.get_by_role("button", name="Complete").click()
        row.get_by_role("button", name="Reopen").wait_for()
        found += audit(page, f"{at} /tasks/ with a row completed (htmx)")
    page.get_by_role("navigation", name="Which tasks").get_by_role("link", name="Done").click()
    page.wait_for_url("**/tasks/?show=done")
    found += audit(page, f"{at} /tasks/ switched to Done (htmx)")

    lead = Lead.objects.visible_to(user).filter(status=Lead.Status.NEW).order_by("pk").first()
    _visit(page, base, f"/leads/{lead.pk}/")
    panel = page.locator("#tasks-panel")
    # Past the browser's own check of required fields, to the server's answer.
    page.evaluate(
        "document.querySelectorAll('#tasks-panel [required]').forEach(e => e.required = false)"
    )
    panel.get_by_role("button", name="Add task").click()
    panel.locator(".is-invalid, [data-error-summary]").first.wait_for()
    found += audit(page, f"{at} /leads/{lead.pk}/ with the task panel's errors (htmx)")

    _visit(page, base, "/leads/0/")
    found += audit(page, f"{at} /leads/0/ (not found)")
    if user.has_perm("accounts.import_records"):
        found += _import(page, base, at, audit)
    return found


IMPORT_CSV = b"first_name,last_name,email,company\nAda,Lovelace,ada@engines.example,Engines\n"


def _import(page: Any, base: str, at: str, audit: Audit) -> list[str]:
    """The import pages: a file's column mapping, then its dry run's report."""
    _visit(page, base, "/leads/import/")
    page.get_by_label("CSV or Excel file").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV}]
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/leads/import/*/")
    found = audit(page, f"{at} {page.url.removeprefix(base)} (mapping)")
    page.get_by_role("button", name="3. Dry run").click()
    page.wait_for_url("**#dry-run")
    return found + audit(page, f"{at} {page.url.removeprefix(base)} (dry run report)")


def _anonymous(page: Any, base: str, audit: Audit, width: int) -> list[str]:
    found: list[str] = []
    at = f"signed out {width}px"
    for path in ["/accounts/login/", "/accounts/password_reset/", "/admin/login/"]:
        _visit(page, base, path)
        found += audit(page, f"{at} {path}")

    _visit(page, base, "/accounts/login/")
    page.get_by_label("Email address").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").first.wait_for()
    found += audit(page, f"{at} /accounts/login/ refused")

    web_form = WebForm.objects.filter(is_active=True).order_by("pk").first()
    assert web_form is not None
    path = web_form.get_absolute_url()
    _visit(page, base, path)
    found += audit(page, f"{at} {path}")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    found += audit(page, f"{at} {path} with errors")
    _visit(page, base, f"{path}?embed=1")
    found += audit(page, f"{at} {path}?embed=1")
    return found


def test_every_page_and_state_has_no_axe_violation(
    live_server: Any, browser: Any, demo: dict[str, User], audit: Audit
) -> None:
    """Each role in turn on one demo (seeding it takes longer than auditing a role)."""
    base = live_server.url
    found: list[str] = []
    for role in ("rep1", "manager", "admin"):
        user = demo[role]
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            try:
                if role == "rep1":
                    found += _anonymous(page, base, audit, width)
                sign_in(page, base, user)
                for path in _pages(user):
                    _visit(page, base, path)
                    found += audit(page, f"{role} {width}px {path}")
                found += _states(page, base, user, width, audit)
            finally:
                context.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)
