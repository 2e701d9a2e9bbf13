"""An import batch: the uploaded file (kept in the database in chunks, so any worker on
any machine can read it), its options and column mapping, its progress and counts, what
it did to each lead (created, or updated with the values it replaced: what undo needs and
what the lead list's ``?import_batch=`` filter reads) and the rows it refused."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from accounts.models import User
from leads.models import Lead


class OnDuplicate(models.TextChoices):
    SKIP = "skip", "Skip it (keep the lead as it is)"
    UPDATE_EMPTY = "update_empty", "Update the lead: fill in only its empty fields"
    UPDATE = "update", "Update the lead: overwrite its fields with the file's values"
    CREATE = "create", "Create a new lead anyway"


class ImportBatchQuerySet(models.QuerySet["ImportBatch"]):
    def visible_to(self, user: Any) -> ImportBatchQuerySet:
        """A person sees the imports they made; admins (``view_all``) everyone's."""
        if not isinstance(user, User) or not user.is_active:
            return self.none()
        if user.has_perm("accounts.view_all"):
            return self.all()
        return self.filter(created_by=user)


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Dry run in progress"
        CHECKED = "checked", "Checked (dry run)"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        CANCELED = "canceled", "Canceled"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    ACTIVE: tuple[str, ...] = ("checking", "queued", "running")

    class Kind(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CSV)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    # The columns as the file names them, and for each the lead field it goes to ("" = none).
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    # on_duplicate, default_region, default_status, default_rate, default_source …
    options = models.JSONField(default=dict, blank=True)
    # Progress: bytes of the file read so far (the record count is unknown until the end).
    bytes_done = models.BigIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Warnings (unknown values replaced by the default) and samples of each outcome.
    report = models.JSONField(default=dict, blank=True)
    # The last dry run's report, shown before the real run.
    dry_run_report = models.JSONField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_batch_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "uploaded",
                        "checking",
                        "checked",
                        "queued",
                        "running",
                        "done",
                        "canceled",
                        "failed",
                        "undone",
                    ]
                ),
                name="import_batch_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["csv", "xlsx"]), name="import_batch_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.file_name})"

    @property
    def reference(self) -> str:
        return f"IMP-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status in (self.Status.DONE, self.Status.UNDONE):
            return 100
        if not self.file_size:
            return 0
        return min(100, int(self.bytes_done * 100 / self.file_size))

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


class ImportChunk(models.Model):
    """A piece of the uploaded file (1 MiB), read back in order by the worker."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="import_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"Chunk {self.position} of import #{self.batch_id}"


class ImportMapping(models.Model):
    """A column mapping saved by a person, to reuse for the next file of the same shape."""

    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    mapping = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "name"], name="import_mapping_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportedLead(models.Model):
    """What a batch did to one lead: created it, or updated it (``previous``: the column
    values it replaced). ``version`` is the lead's version right after the import, so undo
    can tell whether anyone has touched the lead since."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="leads")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    previous = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField()
    # The lead's last_activity_at right after the import: a note logged since (which does
    # not bump the version) also counts as a change.
    touched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "lead"], name="imported_lead_unique"),
            models.CheckConstraint(
                condition=Q(action__in=["created", "updated"]), name="imported_lead_action_valid"
            ),
        ]
        indexes = [models.Index(fields=["lead"], name="imported_lead_lead_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} lead {self.lead_id} in import #{self.batch_id}"


class ImportRejection(models.Model):
    """A row the batch refused: its number (the N-th record after the header), why, and
    its cells as they were, for the downloadable CSV of rejected rows."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections")
    row = models.PositiveIntegerField()
    reason = models.TextField()
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["row"]
        indexes = [models.Index(fields=["batch", "row"], name="import_rejection_row_idx")]

    def __str__(self) -> str:
        return f"Row {self.row}: {self.reason}"


class ImportSeenKey(models.Model):
    """Scratch: the emails, phones and numbers of the chunks an import has read so far
    (``run`` is one import's key), for the duplicate check within the file. An unlogged
    table (see the migration); an import deletes its keys when it ends."""

    run = models.CharField(max_length=32)
    key = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="import_seen_key")]

    def __str__(self) -> str:
        return self.key
