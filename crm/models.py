"""Building blocks every app uses: the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, IntegrityError, models, transaction
from django.utils.timezone import now


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(
            target_type=ContentType.objects.get_for_model(obj), target_id=obj.pk
        ).select_related("actor")


class AuditEvent(models.Model):
    """Who did what to which record, and when, with every field's old → new value.

    Written by the services in the same transaction as the change itself, so a change
    and its history are committed together or not at all.
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "edited"
        STATUS = "status", "changed the status"
        ASSIGNED = "assigned", "assigned"
        CLAIMED = "claimed", "claimed"
        TAGGED = "tagged", "tagged"
        NEXT_ACTION = "next_action", "set the next action"
        CONVERTED = "converted", "converted"
        COMPLETED = "completed", "completed"
        REOPENED = "reopened", "reopened"
        EMAILED = "emailed", "sent an email"

    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    # {"field": [old, new], ...} with display values, as the user saw them.
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The record's version after this change, to tell a user what changed since they looked.
    target_version = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=now)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["target_type", "target_id", "-occurred_at"], name="crm_audit_target_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor or 'system'} {self.get_action_display()} #{self.target_id}"


def audit(
    *,
    target: Any,
    actor: Any,
    action: AuditEvent.Action,
    changes: dict[str, tuple[Any, Any]] | None = None,
    note: str = "",
) -> AuditEvent:
    """Record an event. Call it inside the service's transaction."""
    return AuditEvent.objects.create(
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        actor=actor,
        action=action,
        changes={field: [old, new] for field, (old, new) in (changes or {}).items()},
        target_version=getattr(target, "version", None),
        note=note[:255],
    )


def audit_each(
    targets: Sequence[Any], *, actor: Any, action: AuditEvent.Action, note: str = ""
) -> None:
    """Record the same event on each of these records (of one model), in one query. Call
    it inside the service's transaction."""
    if not targets:
        return
    kind = ContentType.objects.get_for_model(targets[0])
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                target_type=kind,
                target_id=target.pk,
                actor=actor,
                action=action,
                target_version=getattr(target, "version", None),
                note=note[:255],
            )
            for target in targets
        ]
    )


def mark_merged(records: Sequence[Any], *, into: Any | None, actor: Any, note: str) -> datetime:
    """Point these merged-away records (leads, contacts: one model) at their survivor
    ``into``, or back at nobody (``None``: the merge undone), in one UPDATE that bumps their
    versions, with the same audit entry on each. Returns the time stamped on them."""
    at = now()
    if not records:
        return at
    type(records[0])._default_manager.filter(pk__in=[record.pk for record in records]).update(
        merged_into=into,
        merged_at=at if into is not None else None,
        version=models.F("version") + 1,
        updated_at=at,
    )
    for record in records:
        record.version += 1
    audit_each(records, actor=actor, action=AuditEvent.Action.UPDATED, note=note)
    return at


M = TypeVar("M", bound=models.Model)


def loaded(model: type[M], values: dict[str, Any]) -> M:
    """An instance as if the ORM had read these columns (``attname``: value) and deferred
    the rest, for a hand-written query. ``from_db`` wants the values in the model's field
    order, whatever order the query gave them in."""
    ordered = [values[f.attname] for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, list(values), ordered)


def full_clean_given(instance: models.Model, *, exclude: Iterable[str] = (), **kwargs: Any) -> None:
    """``full_clean`` without asking the database whether related rows handed over as
    loaded instances exist (Django's check is one query per foreign key: most of a
    service's queries when it creates a note, a task or a deal). A relation given by id
    only is still checked; the foreign key constraint stays the last word either way."""
    given = [
        field.name
        for field in instance._meta.concrete_fields
        if field.is_relation
        and field.is_cached(instance)  # type: ignore[attr-defined]
        # The cache, not the attribute: a required relation set to None raises on access.
        and getattr(field.get_cached_value(instance), "pk", None) is not None  # type: ignore[attr-defined]
    ]
    instance.full_clean(exclude=[*exclude, *given], **kwargs)


def save_checked(instance: Any, *, savepoint: bool = True, **save_kwargs: Any) -> None:
    """Save, letting PostgreSQL check the model's constraints (Django's ``full_clean``
    would ask with one query per constraint) and turning a violation into the
    constraint's own message, so the caller still gets a ValidationError, not a 500.
    ``savepoint=False`` saves the savepoint's two queries where no violation is expected
    (or the caller's transaction ends on one anyway)."""
    try:
        with transaction.atomic(savepoint=savepoint):
            instance.save(**save_kwargs)
    except IntegrityError as error:
        name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        for constraint in instance._meta.constraints:
            if constraint.name == name and hasattr(constraint, "get_violation_error_message"):
                raise ValidationError(constraint.get_violation_error_message()) from error
        raise


# --- Notifications: the in-app bell and the outbox of every email the CRM sends itself -----


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user: Any) -> NotificationQuerySet:
        """A person only ever sees their own notifications."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user_id=user.pk)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def for_object(self, obj: models.Model) -> NotificationQuerySet:
        return self.filter(target_type=ContentType.objects.get_for_model(obj), target_id=obj.pk)

    def email_due(self, at: Any) -> NotificationQuerySet:
        """Emails to hand to a worker: waiting ones, and claims whose worker never finished
        (a claim is a deadline: past it, the email is offered again)."""
        return self.filter(
            email_state__in=[Notification.Email.PENDING, Notification.Email.QUEUED],
            email_due_at__lte=at,
        )


class Notification(models.Model):
    """Something a user should know: a task reminder, an SLA alert, an escalation, the
    daily digest. It is shown under the bell, and, when ``email_state`` says so, emailed.

    The row is also the email's outbox entry, which is what makes sending exactly-once:
    ``key`` is unique per user, so the event that causes a notification creates it once
    however often it is processed; a worker sends the email only while holding the row's
    lock and marks it sent in that same transaction (see ``crm.notifications``).
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Task reminder"
        SLA_ALERT = "sla_alert", "Response time alert"
        ESCALATION = "escalation", "Escalation"
        DIGEST = "digest", "Daily digest"
        ASSIGNED = "assigned", "Assigned to you"
        LEAD_RECEIVED = "lead_received", "New lead for you"
        UNROUTED = "unrouted", "New lead in the pool"
        INQUIRY = "inquiry", "A known person wrote again"
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement to a visitor"

    class Email(models.TextChoices):
        NONE = "none", "No email"
        PENDING = "pending", "Waiting to be sent"
        QUEUED = "queued", "Handed to a worker"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # Who it is for. None: an email to someone outside (``email_to``), such as the
    # acknowledgement a web form sends its visitor; it is never shown under a bell.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    email_to = models.EmailField(blank=True, db_default="")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What makes this notification unique for its user, e.g. "task:12:reminder:2026-11-23T09:00".
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    read_at = models.DateTimeField(null=True, blank=True)

    # The email, rendered when the notification is created, so a retry sends the same text.
    email_subject = models.CharField(max_length=255, blank=True)
    email_text = models.TextField(blank=True)
    email_html = models.TextField(blank=True)
    email_state = models.CharField(max_length=10, choices=Email.choices, default=Email.NONE)
    # Pending: when to send (now, or the next retry). Queued: when the claim expires.
    email_due_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=500, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="crm_notif_user_idx"),
            models.Index(
                fields=["user"],
                name="crm_notif_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["email_due_at"],
                name="crm_notif_email_due_idx",
                condition=models.Q(email_state__in=["pending", "queued"]),
            ),
            models.Index(fields=["target_type", "target_id"], name="crm_notif_target_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="crm_notification_once"),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(user__isnull=True),
                name="crm_notification_external_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email_to=""),
                name="crm_notification_has_recipient",
            ),
            models.CheckConstraint(
                condition=models.Q(email_state__in=["none", "pending", "queued", "sent", "failed"]),
                name="crm_notification_email_state_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(email_state__in=["pending", "queued"])
                | models.Q(email_due_at__isnull=False),
                name="crm_notification_waiting_email_has_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}: {self.title}"
