"""The import page: upload → mapping → dry run → run (the task) → report; permissions,
scope, the size limit, cancel, progress, undo, and the lead list's batch filter."""

from __future__ import annotations

import csv
import io
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads import services as lead_services
from leads.imports import services
from leads.imports.models import ImportBatch, ImportMapping
from leads.imports.tasks import import_batch, import_check
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

CONTENT = csv_bytes(
    [
        ["First Name", "Last Name", "E-mail", "Phone", "Company"],
        ["Ann", "Lee", "ann@example.com", "+1 415 555 0100", "Acme"],
        ["", "", "nobody@example.com", "", ""],
        ["Bob", "Ray", "bob@example.com", "", "=cmd()"],
        ["Ann", "Again", "ANN@example.com", "", ""],
    ]
)


def upload(client, content: bytes = CONTENT, name: str = "leads.csv"):
    return client.post("/leads/import/", {"file": SimpleUploadedFile(name, content)})


def mapping_post(batch: ImportBatch, **extra: str) -> dict[str, str]:
    data = {f"col_{i}": f for i, f in enumerate(batch.mapping[h] for h in batch.headers)}
    data.update(
        {"on_duplicate": "skip", "default_region": "US", "default_status": "new"},
        default_source="Import",
    )
    data.update(extra)
    return data


def test_only_importers_see_the_page_and_its_link(client, rep, manager):
    client.force_login(rep)
    assert client.get("/leads/import/").status_code == 403
    assert b'href="/leads/import/"' not in client.get("/leads/").content
    client.force_login(manager)
    page = client.get("/leads/import/")
    assert page.status_code == 200
    assert b"No imports yet" in page.content
    assert b"up to 50 MB" in page.content
    assert b'href="/leads/import/"' in client.get("/leads/").content


def test_the_whole_way_through(client, manager, django_capture_on_commit_callbacks):
    client.force_login(manager)
    response = upload(client)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/import/{batch.pk}/"
    page = client.get(response["Location"])
    assert b'<option value="email" selected>' in page.content  # "E-mail" guessed

    response = client.post(
        f"/leads/import/{batch.pk}/", mapping_post(batch, action="check", save_as="Mine")
    )
    assert response.status_code == 302
    assert Lead.objects.count() == 0  # the dry run wrote nothing
    page = client.get(f"/leads/import/{batch.pk}/")
    assert b"Dry run: what the import would do" in page.content
    assert "Row 2: It has no name" in page.content.decode()
    assert ImportMapping.objects.get(created_by=manager).name == "Mine"

    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(f"/leads/import/{batch.pk}/", mapping_post(batch, action="run"))
    assert response["Location"] == f"/leads/import/{batch.pk}/progress/"
    send_task.assert_called_once_with("leads.imports.tasks.import_batch", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.QUEUED
    polled = client.get(f"/leads/import/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in polled.content
    assert b'http-equiv="refresh"' in client.get(f"/leads/import/{batch.pk}/progress/").content

    import_batch(batch.pk)  # what the worker runs
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts() == {"rows": 4, "created": 2, "updated": 0, "duplicates": 1, "rejected": 1}
    assert Lead.objects.get(email="bob@example.com").company == "=cmd()"
    polled = client.get(f"/leads/import/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"
    report = client.get(f"/leads/import/{batch.pk}/progress/").content.decode()
    assert f"/leads/?import_batch={batch.pk}" in report
    assert "Row 2: It has no name" in report

    rejected = client.get(f"/leads/import/{batch.pk}/rejected.csv")
    rows = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["row", "First Name", "Last Name", "E-mail", "Phone", "Company", "reason"]
    assert rows[1][0] == "2"
    assert rows[1][-1].startswith("It has no name")

    listed = client.get(f"/leads/?import_batch={batch.pk}").content.decode()
    assert "2 leads" in listed
    assert "Bob Ray" in listed
    assert "From import IMP-" in listed
    make_lead(manager, first_name="Zed", last_name="Other")
    assert "Zed Other" not in client.get(f"/leads/?import_batch={batch.pk}").content.decode()


def test_the_command_and_the_page_give_the_same_report(client, manager):
    by_command, _ = run(manager, CONTENT, dry_run=True)
    client.force_login(manager)
    upload(client)
    batch = ImportBatch.objects.get()
    client.post(f"/leads/import/{batch.pk}/", mapping_post(batch, action="check"))
    batch.refresh_from_db()
    by_page = {k: (batch.dry_run_report or {})[k] for k in by_command.as_json()}
    assert by_page == by_command.as_json()


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, manager, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    client.force_login(manager)
    response = upload(client, content=b"a,b\n" + b"x,y\n" * 70_000)
    assert response.status_code == 413
    assert b"larger than" in response.content
    assert not ImportBatch.objects.exists()


def test_bad_files_get_a_message(client, manager):
    client.force_login(manager)
    assert upload(client, content=b"").status_code == 400
    response = upload(client, content=b"PK\x03\x04not a zip", name="x.xlsx")
    assert response.status_code == 400
    assert b"could not be read as an Excel workbook" in response.content
    assert client.post("/leads/import/", {}).status_code == 400


def test_another_persons_import_is_a_404(client, manager, other_manager):
    client.force_login(manager)
    upload(client)
    batch = ImportBatch.objects.get()
    client.force_login(other_manager)
    for path in ("", "progress/", "rejected.csv"):
        assert client.get(f"/leads/import/{batch.pk}/{path}").status_code == 404
    assert client.post(f"/leads/import/{batch.pk}/undo/").status_code == 404


def queued(manager, content: bytes = CONTENT) -> ImportBatch:
    batch = services.import_batch_create(
        actor=manager, upload=io.BytesIO(content), name="f.csv", size=len(content)
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
    return batch


SIX = csv_bytes([["Name", "Email"], *[[f"P{n}", f"p{n}@example.com"] for n in range(6)]])


def test_the_progress_moves_chunk_by_chunk(manager, settings):
    settings.IMPORT_BATCH_ROWS = 2
    batch = queued(manager, SIX)
    seen = []
    real = services._save_progress

    def spy(batch_id, report, progress, size):
        keep = real(batch_id, report, progress, size)
        seen.append(ImportBatch.objects.values_list("bytes_done", "created").get(pk=batch_id))
        return keep

    with mock.patch.object(services, "_save_progress", spy):
        import_batch(batch.pk)
    assert [created for _, created in seen] == [2, 4, 6]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    batch.refresh_from_db()
    assert (batch.status, batch.percent) == (ImportBatch.Status.DONE, 100)


def test_cancel_stops_between_chunks(client, manager, settings):
    settings.IMPORT_BATCH_ROWS = 2
    batch = queued(manager, SIX)
    real = services._save_progress

    def click_cancel(batch_id, report, progress, size):
        ImportBatch.objects.filter(pk=batch_id).update(cancel_requested=True)
        return real(batch_id, report, progress, size)

    with mock.patch.object(services, "_save_progress", click_cancel):
        import_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELED
    assert Lead.objects.count() == batch.created == 2


def test_cancel_button(client, manager):
    batch = queued(manager)
    client.force_login(manager)
    client.post(f"/leads/import/{batch.pk}/cancel/")
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELED
    import_batch(batch.pk)  # a message still in the broker finds nothing to do
    assert Lead.objects.count() == 0
    response = client.post(f"/leads/import/{batch.pk}/cancel/", follow=True)
    assert services.NOT_CANCELABLE in response.content.decode()


def test_undo_removes_created_leads_and_reverts_updates(client, manager):
    existing = make_lead(manager, first_name="Ann", last_name="Lee", email="ann@example.com")
    content = csv_bytes(
        [
            ["First name", "Last name", "Email", "Company"],
            ["Ann", "Lee", "ann@example.com", "Acme"],
            ["New", "One", "new@example.com", ""],
        ]
    )
    report, batch = run(manager, content, on_duplicate="update_empty")
    assert (report.created, report.updated) == (1, 1)
    existing.refresh_from_db()
    assert existing.company == "Acme"
    client.force_login(manager)
    response = client.post(f"/leads/import/{batch.pk}/undo/", follow=True)
    assert "Import undone" in response.content.decode()
    existing.refresh_from_db()
    assert existing.company == ""
    assert not Lead.objects.filter(email="new@example.com").exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE


def test_undo_is_refused_once_a_lead_was_touched(client, manager):
    content = csv_bytes([["Name", "Email"], ["One", "one@example.com"], ["Two", "two@example.com"]])
    _, batch = run(manager, content)
    lead = Lead.objects.get(email="one@example.com")
    lead_services.lead_add_note(lead=lead, actor=manager, kind="note", body="Spoke to them")
    client.force_login(manager)
    response = client.post(f"/leads/import/{batch.pk}/undo/", follow=True)
    assert "cannot be undone: 1 of its leads have been changed" in response.content.decode()
    assert Lead.objects.count() == 2


def test_a_large_files_dry_run_is_a_worker_s(
    client, manager, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_INLINE_CHECK_BYTES = 10
    client.force_login(manager)
    upload(client)
    batch = ImportBatch.objects.get()
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(f"/leads/import/{batch.pk}/", mapping_post(batch, action="check"))
    assert response["Location"] == f"/leads/import/{batch.pk}/progress/"
    send_task.assert_called_once_with("leads.imports.tasks.import_check", args=[batch.pk])
    page = client.get(f"/leads/import/{batch.pk}/progress/")
    assert b"Dry run in progress" in page.content
    assert b"Cancel the import" in page.content
    import_check(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CHECKED
    assert Lead.objects.count() == 0
    polled = client.get(f"/leads/import/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled["HX-Redirect"] == f"/leads/import/{batch.pk}/#dry-run"
    page = client.get(f"/leads/import/{batch.pk}/")
    assert b"Dry run: what the import would do" in page.content


def test_undo_is_refused_when_a_lead_has_a_task(client, manager):
    from datetime import timedelta

    from django.utils import timezone

    from crm.followups.services import task_create

    content = csv_bytes([["Name", "Email"], ["One", "one@example.com"]])
    _, batch = run(manager, content)
    lead = Lead.objects.get()
    task_create(actor=manager, title="Call", due_at=timezone.now() + timedelta(days=1), lead=lead)
    client.force_login(manager)
    response = client.post(f"/leads/import/{batch.pk}/undo/", follow=True).content.decode()
    assert "cannot be undone" in response
    assert Lead.objects.count() == 1
