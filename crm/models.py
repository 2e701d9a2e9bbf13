"""Building blocks every app uses: the audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
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


def save_checked(instance: Any, **save_kwargs: Any) -> None:
    """Save, letting PostgreSQL check the model's constraints (Django's ``full_clean``
    would ask with one query per constraint) and turning a violation into the
    constraint's own message, so the caller still gets a ValidationError, not a 500."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as error:
        name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        for constraint in instance._meta.constraints:
            if constraint.name == name and hasattr(constraint, "get_violation_error_message"):
                raise ValidationError(constraint.get_violation_error_message()) from error
        raise
