from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import OwnedQuerySet, Team, User
from crm.validators import DATE_OUT_OF_RANGE, date_bounds, validate_date_bounds
from leads.models import Lead, LostReason, MergeableQuerySet
from leads.phones import validate_phone

if TYPE_CHECKING:
    pass


class Owned(models.Model):
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        abstract = True


class Stage(models.Model):
    """A pipeline column. Admins manage them; a default set comes with migration 0002."""

    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=0, help_text="Default chance to win, in percent, for deals in this stage."
    )
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_0_100"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["open", "won", "lost"]), name="stage_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN


class Company(Owned):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="e.g. acme.com")
    website = models.URLField(max_length=255, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField("employees", max_length=20, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        indexes = [
            models.Index(Lower("name"), name="company_name_ci_idx"),
            models.Index(fields=["domain"], name="company_domain_idx", condition=~Q(domain="")),
            models.Index(fields=["owner", "name"], name="company_owner_idx"),
            models.Index(fields=["name", "id"], name="company_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("deals:company", args=[self.pk])


class ContactQuerySet(MergeableQuerySet):
    """Contacts follow the one row-level rule; one merged into another is left out."""


class Contact(Owned):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[validate_phone])
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    job_title = models.CharField(max_length=150, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    source_lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        editable=False,
    )
    # db_default too: generate_deals loads contacts with COPY.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Merged into another contact (``deals.merge``): kept, hidden, its deals moved to the
    # survivor. PROTECT for the reason ``Lead.merged_into`` gives.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_contacts",
        db_index=False,  # the partial contact_merged_into_idx
        editable=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["email"], name="contact_email_idx", condition=~Q(email="")),
            models.Index(
                fields=["phone_normalized"],
                name="contact_phone_idx",
                condition=~Q(phone_normalized=""),
            ),
            models.Index(fields=["owner", "last_name"], name="contact_owner_idx"),
            models.Index(fields=["last_name", "id"], name="contact_last_name_idx"),
            models.Index(
                fields=["merged_into"],
                name="contact_merged_into_idx",
                condition=Q(merged_into__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(first_name="") | ~Q(last_name=""),
                name="contact_has_a_name",
                violation_error_message="Enter a first or a last name.",
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True, merged_at__isnull=True)
                | (Q(merged_into__isnull=False, merged_at__isnull=False) & ~Q(merged_into=F("pk"))),
                name="contact_merged_has_survivor",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_absolute_url(self) -> str:
        return reverse("deals:contact", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class DealQuerySet(OwnedQuerySet):
    def open(self) -> Any:
        return self.filter(stage__kind=Stage.Kind.OPEN)

    def for_list(self) -> Any:
        return self.select_related("owner", "stage", "company")


class Deal(Owned):
    title = models.CharField(max_length=200)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    probability = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Leave empty to use the stage's probability."
    )
    expected_close_date = models.DateField(null=True, blank=True, validators=[validate_date_bounds])
    source_lead = models.OneToOneField(
        Lead,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deal",
        editable=False,
    )
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    next_action = models.CharField(max_length=200, blank=True)
    next_action_due = models.DateTimeField(null=True, blank=True, validators=[validate_date_bounds])
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField(default=now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="deal_created_idx"),
            models.Index(fields=["stage", "created_at", "id"], name="deal_stage_created_idx"),
            models.Index(
                fields=["owner", "stage", "created_at", "id"], name="deal_owner_stage_idx"
            ),
            models.Index(fields=["team", "created_at", "id"], name="deal_team_created_idx"),
            # A manager's scope (team, or owner among their people) as an index-only scan:
            # the dashboard's stage history is joined to these ids.
            models.Index(fields=["team", "owner"], include=["id"], name="deal_team_owner_idx"),
            models.Index(fields=["expected_close_date", "id"], name="deal_close_date_idx"),
            # Open deals (no closed_at): board columns, stage totals and the forecast read
            # only this index, never the table.
            models.Index(
                fields=["stage", "expected_close_date", "id"],
                include=["value", "probability", "currency", "owner", "team"],
                condition=Q(closed_at__isnull=True),
                name="deal_open_pipeline_idx",
            ),
            models.Index(fields=["stage", "-closed_at", "id"], name="deal_stage_closed_idx"),
            models.Index(
                fields=["closed_at"],
                include=["stage", "value", "probability", "currency", "owner", "team"],
                condition=Q(closed_at__isnull=False),
                name="deal_closed_totals_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="deal_value_not_negative"),
            models.CheckConstraint(
                condition=date_bounds("expected_close_date", is_date=True),
                name="deal_expected_close_date_in_bounds",
                violation_error_message=DATE_OUT_OF_RANGE,
            ),
            models.CheckConstraint(
                condition=date_bounds("next_action_due"),
                name="deal_next_action_due_in_bounds",
                violation_error_message=DATE_OUT_OF_RANGE,
            ),
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | Q(probability__lte=100),
                name="deal_probability_0_100",
            ),
            models.CheckConstraint(
                condition=Q(next_action="", next_action_due__isnull=True)
                | (~Q(next_action="") & Q(next_action_due__isnull=False)),
                name="deal_next_action_has_due",
                violation_error_message=(
                    "A next action needs a due date, and a due date a next action."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("deals:detail", args=[self.pk])

    @property
    def effective_probability(self) -> int:
        return self.probability if self.probability is not None else self.stage.probability

    @property
    def weighted_value(self) -> Decimal:
        return (self.value * self.effective_probability / 100).quantize(Decimal("0.01"))

    @property
    def is_open(self) -> bool:
        return self.stage.kind == Stage.Kind.OPEN


class DealStageChange(models.Model):
    """Every move between stages: time in stage and cycle length are computed from these."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        User, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    changed_at = models.DateTimeField(default=now)
    # When the deal entered ``from_stage`` (the previous change's time): time in stage is
    # ``changed_at - from_stage_entered_at`` on one row, so the dashboard aggregates it
    # over a range of changes without looking up each one's predecessor.
    from_stage_entered_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="dealstage_deal_idx"),
            # Stays in one stage that ended in a date range (the dashboard's time in stage,
            # one index range per stage), read from the index alone.
            models.Index(
                fields=["from_stage", "changed_at"],
                include=["deal", "from_stage_entered_at"],
                condition=Q(from_stage_entered_at__isnull=False),
                name="dealstage_stay_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage__isnull=True, from_stage_entered_at__isnull=True)
                | Q(from_stage__isnull=False, from_stage_entered_at__isnull=False),
                name="dealstage_entered_with_from_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or 'start'} → {self.to_stage}"


class DealNote(models.Model):
    """An entry on the deal's timeline (the same kinds as a lead's)."""

    KINDS: ClassVar = [
        ("call", "Call"),
        ("email", "Email"),
        ("meeting", "Meeting"),
        ("note", "Note"),
        ("web_form", "Web form"),
        ("email_in", "Email received"),
    ]

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=KINDS, default="note")
    body = models.TextField()
    author = models.ForeignKey(
        User, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=now)
    # An email's Message-ID (sent by us, or received): replies find their deal by it.
    message_id = models.CharField(max_length=255, blank=True, db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["deal", "-created_at"], name="dealnote_deal_idx"),
            models.Index(
                fields=["message_id"], name="dealnote_message_id_idx", condition=~Q(message_id="")
            ),
        ]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="dealnote_body_set")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on deal {self.deal_id}"


class ContactMerge(models.Model):
    """One merge of contacts into a survivor, kept so that it can be undone (the shape of
    ``leads.models.LeadMerge``): the survivor's values before, the deals that moved."""

    survivor = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="merges")
    merged_ids = ArrayField(models.BigIntegerField(), help_text="The contacts merged away.")
    actor = models.ForeignKey(
        User, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=now)
    survivor_version = models.PositiveIntegerField()
    undo = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["survivor", "-created_at"], name="contactmerge_survivor_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True) | Q(undone_by__isnull=False),
                name="contactmerge_undone_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge of {len(self.merged_ids)} contact(s) into {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
