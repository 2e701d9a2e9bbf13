from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from accounts.models import Team
from leads.models import Lead, Source

EMAIL_SOURCE = "Email"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def email_source_id() -> int | None:
    """New mailboxes give their leads the "Email" source (made by leads 0002)."""
    return Source.objects.filter(name=EMAIL_SOURCE).values_list("pk", flat=True).first()


class Mailbox(models.Model):
    """An address whose messages come in here. Only the token's hash is kept: the token
    itself is shown once, when the mailbox is made (or its token replaced)."""

    name = models.CharField(max_length=80, unique=True)
    is_active = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        default=email_source_id,
        related_name="+",
        help_text="The source of the leads its messages create.",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose pool a new lead falls into when no assignment rule routes it.",
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.name

    def new_token(self) -> str:
        """Give the mailbox a fresh token (not saved yet) and return it."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


class InboundEmail(models.Model):
    """One message as received (``raw``) and what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"  # stored, not processed yet
        CREATED = "created", "New lead"
        ATTACHED = "attached", "Activity on a lead or deal"
        DUPLICATE = "duplicate", "Duplicate"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    received_at = models.DateTimeField(default=now)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(help_text="Bytes received (raw keeps at most the cap).")
    message_id = models.CharField(max_length=255, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    preview = models.TextField(
        blank=True, help_text="The text without quoted replies or signature."
    )
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deal_id = models.BigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound email"
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
            models.Index(fields=["status", "-received_at"], name="inbound_status_idx"),
            models.Index(fields=["-received_at", "-id"], name="inbound_received_idx"),
        ]
        constraints = [
            # The same message delivered twice (a provider's retry) is stored once.
            models.UniqueConstraint(
                fields=["mailbox", "message_id"],
                condition=~Q(message_id=""),
                name="inbound_message_id_per_mailbox",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "received",
                        "created",
                        "attached",
                        "duplicate",
                        "ignored",
                        "rejected",
                        "failed",
                    ]
                ),
                name="inbound_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject or '(no subject)'}"
