"""``/leads/import/``: upload, map the columns, check (dry run), run with a progress bar,
cancel, the report with the rejected rows as CSV, undo."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from accounts.roles import Capability
from leads.imports import services
from leads.imports.forms import MappingForm, UploadForm, initial_for, saved_mappings
from leads.imports.mapping import FIELD_LABELS
from leads.imports.models import ImportBatch, ImportMapping
from leads.imports.parsing import ImportFileError

IMPORT_PERMISSION = f"accounts.{Capability.IMPORT_RECORDS}"
RECENT = 10
# Multipart framing around the file: a little above the file limit is still the file.
UPLOAD_SLACK = 64 * 1024


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _batch_or_404(request: HttpRequest, pk: int) -> ImportBatch:
    return get_object_or_404(
        ImportBatch.objects.visible_to(_user(request)).select_related("created_by"), pk=pk
    )


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.IMPORT_MAX_UPLOAD_BYTES + UPLOAD_SLACK


def _start_page(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    recent = ImportBatch.objects.visible_to(_user(request)).select_related("created_by")[:RECENT]
    return render(
        request,
        "imports/start.html",
        {
            "form": form,
            "recent": recent,
            "max_mb": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        status=status,
    )


# The size is checked before anything reads the body: CSRF's own check would read (and
# spool to disk) the whole upload first. The CSRF check then runs as usual, in _upload.
@csrf_exempt
@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and _too_large(request):
        form = UploadForm()
        limit = settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)
        form.errors["file"] = form.error_class([services.FILE_TOO_LARGE.format(limit=limit)])
        return _start_page(request, form, status=413)
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _start_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _start_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        batch = services.import_batch_create(
            actor=_user(request), upload=upload, name=upload.name or "upload.csv", size=upload.size
        )
    except ImportFileError as error:
        form.add_error("file", str(error))
        return _start_page(request, form, status=400)
    messages.success(request, f"{batch.file_name} uploaded: check how its columns map.")
    return redirect("imports:mapping", pk=batch.pk)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step: a lead field per column (guessed), the options, a dry run."""
    user = _user(request)
    batch = _batch_or_404(request, pk)
    if batch.status not in (ImportBatch.Status.UPLOADED, ImportBatch.Status.CHECKED):
        return redirect("imports:progress", pk=batch.pk)
    mapping = batch.mapping
    used = request.GET.get("use", "")
    if used.isascii() and used.isdigit() and len(used) < 18:
        saved = ImportMapping.objects.filter(created_by=user, pk=int(used)).first()
        if saved is not None:
            mapping = {h: saved.mapping.get(h, "") for h in batch.headers}
    form = MappingForm(
        request.POST or None,
        headers=batch.headers,
        initial=initial_for(batch.headers, mapping, batch.options),
    )
    if request.method == "POST":
        if form.is_valid():
            return _apply_mapping(request, batch, form)
        messages.error(request, "Check the highlighted fields.")
    context = {
        "batch": batch,
        "form": form,
        "saved": saved_mappings(user),
        "report": batch.dry_run_report if batch.status == ImportBatch.Status.CHECKED else None,
        "labels": FIELD_LABELS,
    }
    return render(request, "imports/mapping.html", context, status=400 if form.errors else 200)


def _apply_mapping(request: HttpRequest, batch: ImportBatch, form: MappingForm) -> HttpResponse:
    user = _user(request)
    options = services.ImportOptions.from_dict(form.options())
    try:
        batch = services.import_batch_set_mapping(
            batch=batch, actor=user, mapping=form.mapping(), options=options
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("imports:mapping", pk=batch.pk)
    if form.cleaned_data.get("save_as"):
        saved = services.import_mapping_save(
            actor=user, name=form.cleaned_data["save_as"], mapping=batch.mapping
        )
        messages.info(request, f"Mapping saved as “{saved.name}”.")
    if request.POST.get("action") == "run":
        try:
            services.import_batch_start(batch=batch, actor=user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("imports:mapping", pk=batch.pk)
        messages.success(request, "The import has started.")
        return redirect("imports:progress", pk=batch.pk)
    try:
        report = services.import_batch_dry_run(batch=batch, actor=user)
    except ImportFileError as error:
        messages.error(request, str(error))
        return redirect("imports:mapping", pk=batch.pk)
    if report is None:
        messages.info(request, "The dry run has started; nothing is written.")
        return redirect("imports:progress", pk=batch.pk)
    messages.info(
        request,
        f"Dry run: {report.created} would be created, {report.updated} updated, "
        f"{report.duplicates} skipped as duplicates, {report.rejected} rejected. "
        "Nothing was written.",
    )
    return redirect(reverse("imports:mapping", args=[batch.pk]) + "#dry-run")


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@vary_on_headers("HX-Request")
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar while it runs (htmx polls the partial every second; without
    JavaScript the page reloads itself), then the report."""
    batch = _batch_or_404(request, pk)
    checked = batch.status in (ImportBatch.Status.UPLOADED, ImportBatch.Status.CHECKED)
    mapping_url = reverse("imports:mapping", args=[batch.pk]) + "#dry-run"
    if checked and not request.htmx:  # type: ignore[attr-defined]
        return redirect(mapping_url)  # a dry run that finished: its report is there
    context = {
        "batch": batch,
        "samples": (batch.report or {}).get("samples", {}),
        "warnings": (batch.report or {}).get("warnings", [])[:100],
        "rejections": batch.rejections.all()[:20],
        "list_url": reverse("leads:list") + f"?import_batch={batch.pk}",
    }
    if not request.htmx:  # type: ignore[attr-defined]
        return render(request, "imports/progress.html", context)
    response = render(request, "imports/progress.html#status", context)
    if checked:
        response["HX-Redirect"] = mapping_url
    elif not batch.is_active:
        response["HX-Refresh"] = "true"  # finished: the whole report, rejected rows and all
    return response


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.import_batch_cancel(batch=batch, actor=_user(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.info(request, "Canceling: the import stops after the rows it is on.")
    return redirect("imports:progress", pk=batch.pk)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_POST
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.import_batch_undo(batch=batch, actor=_user(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Import undone: its leads removed, its updates reverted.")
    return redirect("imports:progress", pk=batch.pk)


class Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_rejected_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rejected rows as they were, with the row number and a ``reason`` column."""
    batch = _batch_or_404(request, pk)
    writer = csv.writer(Echo())
    rows = batch.rejections.order_by("row").values_list("row", "reason", "values")

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(["row", *batch.headers, "reason"])
        for row, reason, values in rows.iterator(chunk_size=2000):
            cells = list(values or [])[: len(batch.headers)]
            cells += [""] * (len(batch.headers) - len(cells))
            yield writer.writerow([row, *(_safe(c) for c in cells), _safe(reason)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.reference}-rejected.csv"'
    return response
