"""An import in a real browser (Debian's Chromium through Playwright): upload, mapping,
dry run, the progress bar polled by htmx, the report, the imported leads on the list."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from accounts.models import User
from leads.imports.models import ImportBatch
from leads.imports.tasks import import_batch
from leads.models import Lead
from tests.factories import PASSWORD
from tests.imports.helpers import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 3000
SHOT = "/tmp/import_report.png"  # noqa: S108  (for people to look at)


def worker_thread(name: str, args: list[int], **kwargs: Any) -> None:
    """Stands in for the Celery worker: runs the task a moment later, on a thread."""

    def work() -> None:
        try:
            time.sleep(1.5)
            import_batch(*args)
        finally:
            connection.close()

    threading.Thread(target=work, daemon=True).start()


def test_upload_map_check_run_and_read_the_report(
    live_server: Any, page: Any, manager: User, tmp_path: Path, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.IMPORT_BATCH_ROWS = 300
    rows: list[list[str]] = [["Given name", "Surname", "Work Email", "Mobile", "Organisation"]]
    rows += [[f"P{n}", f"Person {n}", f"p{n}@example.com", "", f"Org {n}"] for n in range(ROWS)]
    rows.insert(2, ["", "", "nameless@example.com", "", ""])
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows, delimiter=";"))

    page.goto(f"{live_server.url}/leads/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Import"
    ).click()
    expect(page.get_by_role("heading", name="Import leads")).to_be_visible()
    expect(page.get_by_text("No imports yet")).to_be_visible()
    page.get_by_label("CSV or Excel file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_text("uploaded: check how its columns map")).to_be_visible()
    expect(page.get_by_label("Given name")).to_have_value("first_name")
    expect(page.get_by_label("Work Email")).to_have_value("email")
    page.get_by_label("Organisation").select_option("company")
    page.get_by_role("button", name="3. Dry run").click()
    expect(page.get_by_role("heading", name="Dry run: what the import would do")).to_be_visible()
    expect(page.locator("#dry-run-errors")).to_contain_text("Row 2: It has no name")
    assert Lead.objects.count() == 0

    with mock.patch("celery.current_app.send_task", side_effect=worker_thread):
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_role("heading", name="Waiting for a worker")).to_be_visible()
        expect(page.get_by_role("button", name="Cancel the import")).to_be_visible()
        expect(page.get_by_role("heading", name="Done")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-count="created"]').first).to_have_text(str(ROWS))
    expect(page.locator('[data-count="rejected"]').first).to_have_text("1")
    expect(page.get_by_text("Row 2: It has no name")).to_be_visible()
    page.screenshot(path=SHOT, full_page=True)
    page.get_by_role("link", name="See the imported leads").click()
    expect(page.get_by_text("From import IMP-")).to_be_visible()
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created, batch.rejected) == ("done", ROWS, 1)
    assert Lead.objects.filter(company="Org 7").exists()
