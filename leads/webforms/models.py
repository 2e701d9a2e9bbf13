from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import Team
from leads.models import Source, Tag

# What a form may ask, in the order it asks it: (field name, label).
FIELDS: list[tuple[str, str]] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("website", "Website"),
    ("country", "Country"),
    ("message", "Message"),
    ("budget", "Budget"),
    ("authority", "Your role in the decision"),
    ("need", "What do you need?"),
    ("timeline", "When do you want to start?"),
]
FIELD_NAMES = [name for name, _ in FIELDS]


def default_fields() -> list[str]:
    return ["first_name", "last_name", "email", "phone", "company", "message"]


def default_required() -> list[str]:
    return ["first_name", "last_name", "email"]


DEFAULT_SOURCE = "Web form"  # what a form's leads come from unless it says
DEFAULT_SUCCESS = "Thank you! We have your message and will be in touch shortly."
DEFAULT_ACK_SUBJECT = "Thanks for getting in touch, {{ lead.first_name }}"
DEFAULT_ACK_BODY = (
    "Hello {{ lead.first_name }},\n\n"
    "thank you for your message. We have received it, and one of us will get back to you "
    "shortly.\n\nKind regards,\nThe team at {{ form.name }}"
)


class WebForm(models.Model):
    """A public form at ``/f/<slug>/``: which lead fields it asks (and requires), where
    its leads go, the consent it asks for, what the visitor sees after sending and the
    acknowledgement email they get."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    title = models.CharField(
        "heading", max_length=150, blank=True, help_text="Shown above the form (default: name)."
    )
    intro = models.TextField(blank=True, help_text="A line or two under the heading.")
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=f"The source of the leads it brings (left empty: “{DEFAULT_SOURCE}”).",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose pool its leads fall into if no assignment rule places them.",
    )
    fields = ArrayField(
        models.CharField(max_length=20, choices=FIELDS),
        default=default_fields,
        help_text="What the form asks, in this order.",
    )
    required = ArrayField(
        models.CharField(max_length=20, choices=FIELDS),
        default=default_required,
        blank=True,
        help_text="Which of those must be filled in.",
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", help_text="Given to its leads."
    )
    consent_text = models.TextField(
        "consent wording",
        blank=True,
        help_text="If set, a checkbox with these words; what was shown is kept with the consent.",
    )
    consent_required = models.BooleanField(
        default=False, help_text="The form cannot be sent without the box ticked."
    )
    success_message = models.TextField(default=DEFAULT_SUCCESS)
    redirect_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Instead of the message, send the visitor here (its host must be listed).",
    )
    allowed_hosts = models.TextField(
        blank=True,
        help_text="Hosts the form may send visitors back to, one per line (www.example.com).",
    )
    acknowledge = models.BooleanField(
        "send an acknowledgement", default=False, help_text="Email the visitor a thank-you."
    )
    ack_subject = models.CharField(
        "acknowledgement subject", max_length=200, default=DEFAULT_ACK_SUBJECT
    )
    ack_body = models.TextField("acknowledgement text", default=DEFAULT_ACK_BODY)
    submissions = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(fields=[]), name="webform_asks_something"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Saved with its source, so a submission does not look the default up each time.
        if self.source_id is None:
            self.source = Source.objects.get_or_create(name=DEFAULT_SOURCE)[0]
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "source"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("webforms:form", args=[self.slug])

    @property
    def hosts(self) -> set[str]:
        return {line.strip().lower() for line in self.allowed_hosts.splitlines() if line.strip()}

    def clean(self) -> None:
        from urllib.parse import urlsplit

        unknown = [name for name in [*self.fields, *self.required] if name not in FIELD_NAMES]
        if unknown:
            raise ValidationError({"fields": f"Unknown fields: {', '.join(unknown)}."})
        not_asked = [name for name in self.required if name not in self.fields]
        if not_asked:
            raise ValidationError({"required": f"Required but not asked: {', '.join(not_asked)}."})
        if not {"email", "phone"} & set(self.fields):
            raise ValidationError(
                {"fields": "Ask for an email or a phone, or nobody can be reached."}
            )
        if not {"first_name", "last_name", "company"} & set(self.fields):
            raise ValidationError({"fields": "Ask for a name or a company."})
        if self.redirect_url:
            host = (urlsplit(self.redirect_url).hostname or "").lower()
            if host not in self.hosts:
                raise ValidationError(
                    {"redirect_url": f"List {host or 'its host'} under allowed hosts first."}
                )


class WebFormRefusal(models.Model):
    """How many submissions a form refused, per reason (the admin sees them on the form)."""

    class Reason(models.TextChoices):
        HONEYPOT = "honeypot", "Honeypot filled in"
        TOO_FAST = "too_fast", "Sent too fast after the form was shown"
        STALE = "stale", "Form shown more than a day earlier"
        REPLAYED = "replayed", "Same form sent twice"
        BAD_TOKEN = "bad_token", "Missing or forged token"
        RATE_LIMITED = "rate_limited", "Too many from one address"
        FORM_BUSY = "form_busy", "Too many for the form at once"
        TOO_LARGE = "too_large", "Too large"
        INVALID = "invalid", "Fields not filled in correctly"

    REASONS: ClassVar = Reason

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="refusals")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["form", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["form", "reason"], name="webformrefusal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.form}: {self.get_reason_display()} ×{self.count}"
