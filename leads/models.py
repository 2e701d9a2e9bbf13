from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat, Lower, Now, Upper
from django.urls import reverse
from django.utils.timezone import now
from django_countries.fields import CountryField

from accounts.models import (
    OwnedQuerySet,
    Team,
    User,
    validate_timezone,
)
from crm.validators import DATE_OUT_OF_RANGE, date_bounds, validate_date_bounds
from leads.phones import validate_phone

if TYPE_CHECKING:
    pass


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class NextLeadNumber(models.Func):
    """``L-000123`` from a PostgreSQL sequence, skipping numbers typed in by hand, in the
    format of ``LeadSettings`` (prefix and width, read by the function itself).

    The function is created by migration 0001 (and taught the settings by 0008); it is the
    column's database default, so imports and bulk loads get numbers too.
    """

    function = "leads_next_lead_number"
    template = "%(function)s()"
    output_field = models.CharField()


class NamedChoice(models.Model):
    """An admin-managed list entry (sources, lost reasons)."""

    name = models.CharField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Source(NamedChoice):
    """Where leads come from: web form, email, referral, cold call, campaign…"""


class LostReason(NamedChoice):
    """Why a lead was lost or unqualified (and, later, why a deal was lost)."""


class Tag(models.Model):
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="leads_tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


def _contact_match(email: str, phone_normalized: str) -> Q:
    match = Q(pk__in=[])
    if email:
        match |= Q(email=email.strip().lower())
    if phone_normalized:
        match |= Q(phone_normalized=phone_normalized)
    return match


class MergeableQuerySet(OwnedQuerySet):
    """Records that can be merged into another (leads, contacts: ``merged_into``). A
    merged-away record is kept for its history and for undo, but nobody works it any
    more: ``visible_to`` leaves it out, so lists, counts and exports never see it."""

    def visible_to(self, user: Any) -> Any:
        return self.visible_with_merged(user).filter(merged_into__isnull=True)

    def visible_with_merged(self, user: Any) -> Any:
        """The same rule, merged-away records included: only for following one to its
        survivor (its old URL) and for undoing a merge."""
        return super().visible_to(user)

    def not_merged(self) -> Any:
        return self.filter(merged_into__isnull=True)

    def survivor_of(self, record: Any) -> Any:
        """The record a merged-away one lives on now, following merges of merges, if it is
        in this queryset (e.g. visible to the user); the record itself if not merged."""
        current, seen = record, {record.pk}
        while current.merged_into_id is not None:
            found = self.filter(pk=current.merged_into_id).first()
            if found is None or found.pk in seen:
                return None
            current = found
            seen.add(current.pk)
        return current


# The columns a lead list row reads (``LeadQuerySet.for_list``), with its owner's name and
# its source's.
LIST_COLUMNS = (
    "id",
    "number",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "status",
    "rate",
    "score",
    "scored_at",
    "score_rank",
    "next_action",
    "next_action_due",
    "created_at",
    "first_contacted_at",
    "sla_due_at",
    "owner_id",
    "source_id",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
    "source__name",
)


class LeadQuerySet(MergeableQuerySet):
    """Leads follow the one row-level rule of ``OwnedQuerySet.visible_to``: every lead view,
    bulk action, export and task starts from ``Lead.objects.visible_to(user)``.

    A lead merged into another (``leads.merge``) is left out of ``visible_to``, ``open``
    and ``same_contact``, so lists, counts, exports, scans and duplicate checks never see
    it."""

    def open(self) -> LeadQuerySet:
        return self.filter(status__in=Lead.OPEN_STATUSES, merged_into__isnull=True)

    def for_list(self, *also: str) -> LeadQuerySet:
        """What a list row shows, in a single query (``also``: more columns, e.g. the
        API's, which sends a little more of each row)."""
        return self.select_related("owner", "source").only(*LIST_COLUMNS, *also)

    def same_contact(self, *, email: str = "", phone_normalized: str = "") -> LeadQuerySet:
        """Leads with this email or this normalised phone (none if neither is given), not
        counting leads merged away."""
        return self.filter(_contact_match(email, phone_normalized), merged_into__isnull=True)

    def possible_duplicates(
        self,
        *,
        email: str = "",
        phone_normalized: str = "",
        last_name: str = "",
        company: str = "",
        exclude_pk: int | None = None,
    ) -> LeadQuerySet:
        """Same email, same normalised phone, or same last name at the same company."""
        match = _contact_match(email, phone_normalized)
        if last_name.strip() and company.strip():
            match |= Q(
                last_name_lower=last_name.strip().lower(), company_lower=company.strip().lower()
            )
        qs = self.alias(last_name_lower=Lower("last_name"), company_lower=Lower("company"))
        qs = qs.filter(match, merged_into__isnull=True)
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        return qs.select_related("owner").order_by("-created_at")[:10]


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    NOT_CONTACTED = "not_contacted", "Not contacted"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    UNQUALIFIED = "unqualified", "Unqualified"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"
    JUNK = "junk", "Junk"
    CANCELED = "canceled", "Canceled"


class LeadRate(models.TextChoices):
    HOT = "hot", "Hot"
    WARM = "warm", "Warm"
    COLD = "cold", "Cold"


OPEN_STATUS_VALUES = ["new", "not_contacted", "contacted", "qualified"]

# "Similar name and company" (leads.merge) compares leads whose company reads the same once
# case, punctuation and legal form are set aside: "ACME Corp." and "Acme, Inc." are "acme".
# The expression of the index lead_company_key_idx; a query must spell it the same to use it.
COMPANY_KEY = Func(
    Lower("company"),
    Value(r"\m(inc|incorporated|ltd|limited|llc|gmbh|corp|corporation|co|plc)\M|[^[:alnum:]]+"),
    Value(""),
    Value("g"),
    function="REGEXP_REPLACE",
    output_field=models.TextField(),
)


class Lead(models.Model):
    # Defined beside the model so Meta's constraints can name them; used as Lead.Status.
    Status = LeadStatus
    Rate = LeadRate

    class Authority(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        INFLUENCER = "influencer", "Influencer"
        USER = "user", "User / evaluator"

    class Timeline(models.TextChoices):
        NOW = "now", "Now (within a month)"
        QUARTER = "quarter", "This quarter"
        YEAR = "year", "This year"
        LATER = "later", "Later / unknown"

    OPEN_STATUSES: ClassVar[list[str]] = OPEN_STATUS_VALUES
    REASON_STATUSES: ClassVar[list[str]] = ["lost", "unqualified"]

    number = models.CharField(
        "lead number",
        max_length=20,
        unique=True,
        db_default=NextLeadNumber(),
        help_text="Leave empty to get the next number automatically.",
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(
        max_length=40, blank=True, help_text="As typed.", validators=[validate_phone]
    )
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    website = models.URLField(max_length=255, blank=True)
    country = CountryField(blank=True)
    region = models.CharField("region / state", max_length=100, blank=True)

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT)
    utm_source = models.CharField("UTM source", max_length=100, blank=True)
    utm_medium = models.CharField("UTM medium", max_length=100, blank=True)
    utm_campaign = models.CharField("UTM campaign", max_length=100, blank=True)
    utm_term = models.CharField("UTM term", max_length=100, blank=True, db_default="")
    utm_content = models.CharField("UTM content", max_length=100, blank=True, db_default="")
    # Where a captured lead came in: the page that sent the visitor, the page with the form.
    referrer = models.CharField("referring page", max_length=500, blank=True, db_default="")
    landing_page = models.CharField(max_length=500, blank=True, db_default="")

    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    rate = models.CharField(max_length=10, choices=LeadRate.choices, blank=True)
    # Computed by ``leads.scoring`` from the admin's scoring rules, never typed in; the
    # rules that gave or took points are kept beside it ({rule, label, points} each) so the
    # lead page can say why. ``scored_at`` is when the score last changed: NULL means the
    # lead was never scored, and pages show "—" rather than a score of 0 it never earned.
    score = models.PositiveSmallIntegerField(default=0)
    score_breakdown = models.JSONField(default=list, db_default=[], editable=False)
    scored_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The list's score sort: the score, or NULL while never scored, so that both sort
    # directions put never-scored leads last (NULLS LAST) with one index each.
    score_rank = models.GeneratedField(
        expression=models.Case(
            models.When(scored_at__isnull=True, then=None),
            default=F("score"),
            output_field=models.SmallIntegerField(),
        ),
        output_field=models.SmallIntegerField(null=True),
        db_persist=True,
    )
    owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,  # covered by the (owner, status, created_at) index
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="leads", db_index=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads")

    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    authority = models.CharField(max_length=20, choices=Authority.choices, blank=True)
    need = models.CharField(max_length=255, blank=True, help_text="The problem, in their words.")
    timeline = models.CharField(max_length=10, choices=Timeline.choices, blank=True)
    estimated_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    next_action = models.CharField(max_length=200, blank=True)
    next_action_due = models.DateTimeField(null=True, blank=True, validators=[validate_date_bounds])
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    description = models.TextField(blank=True)

    marketing_consent = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True, validators=[validate_date_bounds])
    consent_source = models.CharField("consent given via", max_length=100, blank=True)
    consent_text = models.TextField(
        "consent wording",
        blank=True,
        db_default="",
        help_text="The words the person agreed to, as shown.",
    )

    first_contacted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How long the first contact took (kept for the dashboards: average, % within target).
    first_response_time = models.DurationField(null=True, blank=True, editable=False)
    # Response-time target: when a new lead must have been contacted by, and the alerts sent.
    sla_due_at = models.DateTimeField("contact by", null=True, blank=True, editable=False)
    sla_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    qualified_at = models.DateTimeField(null=True, blank=True, editable=False)
    converted_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

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
    # The last time someone worked on the lead: a note or logged contact, or any change
    # through the services. "No activity in N days" finds dormant leads by it.
    last_activity_at = models.DateTimeField(default=now, db_default=Now(), editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    # Merged into another lead (``leads.merge``): kept, hidden, its URL leads to the
    # survivor. PROTECT, not SET_NULL: deleting a survivor must not silently bring its
    # merged-away duplicates back as visible leads (and a merge can still be undone).
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_leads",
        db_index=False,  # the partial lead_merged_into_idx: almost every row is NULL
        editable=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)

    # What the search box matches, upper-cased so a trigram index serves Django's icontains.
    search = models.GeneratedField(
        expression=Upper(
            Concat(
                "first_name",
                Value(" "),
                "last_name",
                Value(" "),
                "company",
                Value(" "),
                "email",
                Value(" "),
                "phone_normalized",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="lead_created_idx"),
            models.Index(fields=["last_activity_at", "id"], name="lead_last_activity_idx"),
            models.Index(
                fields=["owner", "status", "created_at", "id"], name="lead_owner_status_idx"
            ),
            models.Index(fields=["status", "created_at", "id"], name="lead_status_created_idx"),
            models.Index(fields=["team", "created_at", "id"], name="lead_team_created_idx"),
            models.Index(fields=["last_name", "id"], name="lead_last_name_idx"),
            models.Index(fields=["company", "id"], name="lead_company_idx"),
            models.Index(
                fields=["next_action_due", "id"],
                name="lead_open_due_idx",
                condition=Q(status__in=OPEN_STATUS_VALUES),
            ),
            models.Index(
                fields=["created_at", "id"],
                name="lead_open_no_action_idx",
                condition=Q(status__in=OPEN_STATUS_VALUES, next_action_due__isnull=True),
            ),
            models.Index(fields=["email"], name="lead_email_idx", condition=~Q(email="")),
            models.Index(
                fields=["phone_normalized"],
                name="lead_phone_idx",
                condition=~Q(phone_normalized=""),
            ),
            models.Index(Lower("last_name"), Lower("company"), name="lead_name_company_idx"),
            GinIndex(OpClass(F("search"), name="gin_trgm_ops"), name="lead_search_trgm_idx"),
            # Similar name and company (leads.merge) compares leads within one company: a
            # trigram probe over all leads cost 120-190 ms a lead at 1M leads, this ~3 ms.
            models.Index(
                COMPANY_KEY,
                F("id"),
                name="lead_company_key_idx",
                condition=~Q(last_name="") & ~Q(company=""),
            ),
            models.Index(
                fields=["merged_into"],
                name="lead_merged_into_idx",
                condition=Q(merged_into__isnull=False),
            ),
            # The list's score sorts (``sort=-score`` / ``sort=score``), never-scored last both
            # ways: a backward scan of one index would put the NULLs first.
            models.Index(
                F("score_rank").desc(nulls_last=True),
                F("id").desc(),
                name="lead_score_desc_idx",
            ),
            models.Index(F("score_rank").asc(nulls_last=True), F("id"), name="lead_score_asc_idx"),
            # The SLA scan and the "not contacted in time" filter read only waiting leads.
            models.Index(
                fields=["sla_due_at", "id"],
                name="lead_sla_waiting_idx",
                condition=Q(status="new", first_contacted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(first_name="") | ~Q(last_name=""),
                name="lead_has_a_name",
                violation_error_message="Enter a first or a last name.",
            ),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""),
                name="lead_has_a_way_to_reach",
                violation_error_message="Enter an email address or a phone number.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=LeadStatus.values), name="lead_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(rate__in=["", *LeadRate.values]), name="lead_rate_valid"
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_0_100"),
            models.CheckConstraint(
                condition=Q(next_action="", next_action_due__isnull=True)
                | (~Q(next_action="") & Q(next_action_due__isnull=False)),
                name="lead_next_action_has_due",
                violation_error_message=(
                    "A next action needs a due date, and a due date a next action."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["lost", "unqualified"]) | Q(lost_reason__isnull=False),
                name="lead_closed_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="qualified") | Q(owner__isnull=False),
                name="lead_qualified_has_owner",
            ),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False),
                name="lead_converted_stamped",
            ),
            models.CheckConstraint(
                condition=date_bounds("next_action_due"),
                name="lead_next_action_due_in_bounds",
                violation_error_message=DATE_OUT_OF_RANGE,
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True, merged_at__isnull=True)
                | (Q(merged_into__isnull=False, merged_at__isnull=False) & ~Q(merged_into=F("pk"))),
                name="lead_merged_has_survivor",
            ),
            models.CheckConstraint(
                condition=date_bounds("consent_at"),
                name="lead_consent_at_in_bounds",
                violation_error_message=DATE_OUT_OF_RANGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.full_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def is_overdue(self) -> bool:
        return bool(self.is_open and self.next_action_due and self.next_action_due < now())

    @property
    def needs_next_action(self) -> bool:
        return self.is_open and not self.next_action

    def display_value(self, field: str) -> Any:
        """A field's value as a person reads it (for history and conflict messages)."""
        if field == "tags":
            return ", ".join(sorted(tag.name for tag in self.tags.all()))
        model_field = self._meta.get_field(field)
        value = getattr(self, field)
        if getattr(model_field, "choices", None) and not model_field.is_relation:
            return getattr(self, f"get_{field}_display")() if value else ""
        if model_field.is_relation:
            return str(value) if value is not None else ""
        if value is None:
            return ""
        return value


class LeadNote(models.Model):
    """An entry on the lead's timeline: a logged call, email or meeting, or a note."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        NOTE = "note", "Note"
        # What the person sent us: their words, not our contact with them.
        WEB_FORM = "web_form", "Web form"
        EMAIL_IN = "email_in", "Email received"

    CONTACT_KINDS: ClassVar[list[str]] = ["call", "email", "meeting"]
    INBOUND_KINDS: ClassVar[list[str]] = ["web_form", "email_in"]

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField()
    outcome = models.CharField(max_length=200, blank=True)
    next_step = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=now)
    # An email's Message-ID (sent by us, or received): replies find their lead by it.
    message_id = models.CharField(max_length=255, blank=True, db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="leadnote_lead_created_idx"),
            models.Index(
                fields=["message_id"], name="leadnote_message_id_idx", condition=~Q(message_id="")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["call", "email", "meeting", "note", "web_form", "email_in"]),
                name="leadnote_kind_valid",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="leadnote_body_set"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id}"


class ResponseTarget(models.Model):
    """The first-contact target for new leads (one row, edited by admins)."""

    # Minutes, so a team that answers within 5 minutes can say so; the admin form takes
    # "5 min", "24 h", "1 h 30 min" or "2 days".
    first_contact_minutes = models.PositiveIntegerField("contact new leads within", default=24 * 60)
    escalate_after_minutes = models.PositiveIntegerField(
        "escalate to the manager after a further", default=4 * 60
    )
    business_hours_only = models.BooleanField(
        "count working hours only",
        default=False,
        help_text="If ticked, only the working hours below count towards the target.",
    )
    workday_start = models.TimeField(default=time(9, 0))
    workday_end = models.TimeField(default=time(17, 0))
    working_days = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_working_days,
        help_text="0 = Monday … 6 = Sunday.",
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Working hours are read in this timezone.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "response-time target"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="responsetarget_single_row"),
            models.CheckConstraint(
                condition=Q(first_contact_minutes__gte=1), name="responsetarget_minutes_positive"
            ),
            models.CheckConstraint(
                condition=Q(workday_start__lt=F("workday_end")),
                name="responsetarget_workday_order",
                violation_error_message="The working day must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"Contact new leads within {format_minutes(self.first_contact_minutes)}"

    @classmethod
    def current(cls) -> ResponseTarget:
        # Read for every new lead: a raw read of the one row skips compiling a query.
        # Its columns by name, not *: a prepared statement must not change its result's
        # shape when a migration adds a column.
        table = cls._meta.db_table
        columns = ", ".join(f'"{f.column}"' for f in cls._meta.concrete_fields)
        found = list(cls.objects.raw(f"SELECT {columns} FROM {table} WHERE id = 1"))  # noqa: S608
        if found:
            return found[0]
        target, _ = cls.objects.get_or_create(
            pk=1, defaults={"first_contact_minutes": settings.LEAD_FIRST_CONTACT_SLA_HOURS * 60}
        )
        return target


def format_minutes(minutes: int) -> str:
    """``90`` → "1 h 30 min", ``2880`` → "2 days"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{mins} min" if mins or not (days or hours) else "")
    return " ".join(part for part in parts if part)


class LeadSettings(models.Model):
    """How leads are numbered and tagged (one row, edited by admins)."""

    number_prefix = models.CharField(
        max_length=8,
        default="L-",
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9-]*$", "Use letters, digits and hyphens only (e.g. L- or LEAD-)."
            )
        ],
        help_text="Put before each new lead's number, e.g. L- gives L-000123.",
    )
    number_width = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Digits, padded with zeros: 6 gives 000123. Larger numbers simply grow.",
    )
    reps_can_create_tags = models.BooleanField(
        "everyone can create tags",
        default=True,
        help_text="Untick to let only admins add new tags; everyone can still use them.",
    )
    # Scoring (``leads.scoring``): what a score suggests as the rate, and how fast it fades.
    score_hot_from = models.PositiveSmallIntegerField(
        "suggest Hot from score",
        default=70,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    score_warm_from = models.PositiveSmallIntegerField(
        "suggest Warm from score",
        default=40,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Below this a scored lead is suggested Cold.",
    )
    score_decay_per_week = models.PositiveSmallIntegerField(
        "points lost per week without activity",
        default=5,
        validators=[MaxValueValidator(100)],
        help_text="Counted in whole weeks since the last note, logged contact or change.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "lead settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(score_warm_from__gte=1, score_hot_from__lte=100)
                & Q(score_warm_from__lt=F("score_hot_from")),
                name="leadsettings_score_bands",
                violation_error_message="Warm must start below Hot, both between 1 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(score_decay_per_week__lte=100), name="leadsettings_decay_range"
            ),
            models.CheckConstraint(condition=Q(pk=1), name="leadsettings_single_row"),
            models.CheckConstraint(
                condition=Q(number_width__gte=1, number_width__lte=10),
                name="leadsettings_width_range",
            ),
            models.CheckConstraint(
                condition=Q(number_prefix__regex=r"^[A-Za-z0-9-]*$"),
                name="leadsettings_prefix_chars",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead numbers like {self.example_number}"

    @property
    def example_number(self) -> str:
        return f"{self.number_prefix}{123:0{self.number_width}d}"

    @classmethod
    def current(cls) -> LeadSettings:
        found, _ = cls.objects.get_or_create(pk=1)
        return found


class AssignmentRule(models.Model):
    """Who a new lead nobody owns goes to. Rules are tried in ``position`` order and the
    first whose conditions all match wins (an empty condition matches anything); its
    target is one person, or a team's members in turn (round-robin), skipping who is
    inactive or at their open-lead capacity. See ``leads.assignment``."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Rules are tried from the lowest number up."
    )
    is_active = models.BooleanField(default=True)

    sources = models.ManyToManyField(
        Source, blank=True, related_name="+", help_text="The lead's source is one of these."
    )
    web_form_ids = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="It came in through one of these web forms (their ids).",
    )
    mailbox_ids = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="It came in to one of these mailboxes (their ids).",
    )
    countries = CountryField(multiple=True, blank=True, help_text="The lead's country.")
    region = models.CharField(
        "region / state", max_length=100, blank=True, help_text="Matched ignoring case."
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", help_text="The lead has at least one of these tags."
    )
    min_value = models.DecimalField(
        "estimated value from", max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_value = models.DecimalField(
        "estimated value up to", max_digits=12, decimal_places=2, null=True, blank=True
    )

    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Give every matching lead to this person…",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="…or to this team's members, in turn.",
    )
    # The round-robin's pointer: the member who got the last lead. The rule's row is
    # locked while the next one is chosen, so two leads at once never get the same turn.
    last_assigned = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="assignmentrule_one_target",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=F("max_value")),
                name="assignmentrule_value_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LeadMerge(models.Model):
    """One merge of leads into a survivor, kept so that it can be undone: the survivor's
    values before it, and which rows moved from which lead (``leads.merge.services``)."""

    survivor = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="merges")
    merged_ids = ArrayField(models.BigIntegerField(), help_text="The leads merged away.")
    actor = models.ForeignKey(
        User, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=now)
    # The survivor's version right after the merge: undo only while nobody changed it since.
    survivor_version = models.PositiveIntegerField()
    # {"before": {field: raw value}, "versions": {lead id: version}, "moved": {kind:
    # {lead id: [row ids]}}, "tags_added": [tag ids]}
    undo = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["survivor", "-created_at"], name="leadmerge_survivor_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True) | Q(undone_by__isnull=False),
                name="leadmerge_undone_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge of {len(self.merged_ids)} lead(s) into {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class ScoringRule(models.Model):
    """One reason a lead's score goes up (or down): a fit condition on the lead's own fields,
    or an engagement condition on what happened on its timeline. Every active rule whose
    condition holds adds its points; the total, less the inactivity decay
    (``LeadSettings.score_decay_per_week``), clamped to 0–100, is the score. Each condition
    is one SQL expression in ``leads.scoring.services``: rescoring a million leads is one
    set-based UPDATE, not a Python loop over rules."""

    class Condition(models.TextChoices):
        HAS_COMPANY = "has_company", "Fit: has a company"
        TITLE_WORDS = "title_words", "Fit: job title has one of the words"
        BUDGET_STATED = "budget_stated", "Fit: budget stated"
        AUTHORITY_CONFIRMED = "authority_confirmed", "Fit: talking to the decision maker"
        NEED_DESCRIBED = "need_described", "Fit: need described"
        TIMELINE_WITHIN = "timeline_within", "Fit: timeline within N days"
        SOURCE_IN = "source_in", "Fit: source is one of"
        COUNTRY_IN = "country_in", "Fit: country is one of"
        ACTIVITIES_LOGGED = (
            "activities_logged",
            "Engagement: at least N calls, emails, meetings or notes",
        )
        REPLIES_RECEIVED = "replies_received", "Engagement: at least N emails received from them"
        WEB_FORM_RESUBMITTED = (
            "web_form_resubmitted",
            "Engagement: sent a web form again, N times or more",
        )
        RECENT_ACTIVITY = "recent_activity", "Engagement: activity within the last N days"

    # The conditions that read N, and what N means there.
    COUNTED: ClassVar[list[str]] = [
        "timeline_within",
        "activities_logged",
        "replies_received",
        "web_form_resubmitted",
        "recent_activity",
    ]
    # What each timeline choice means in days, for "timeline within N days".
    TIMELINE_DAYS: ClassVar[dict[str, int]] = {"now": 30, "quarter": 90, "year": 365}

    name = models.CharField(
        max_length=100, unique=True, help_text="Shown on the lead page beside its points."
    )
    condition = models.CharField(max_length=30, choices=Condition.choices)
    points = models.SmallIntegerField(
        validators=[MinValueValidator(-100), MaxValueValidator(100)],
        help_text="Given when the condition holds; negative takes points away.",
    )
    number = models.PositiveIntegerField(
        "N",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days for the timeline and recent-activity conditions, a count for the others.",
    )
    title_words = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Whole words matched ignoring case, e.g. CEO, founder, director, head.",
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="+")
    countries = CountryField(multiple=True, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order on the lead page.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=-100, points__lte=100), name="scoringrule_points_range"
            ),
            models.CheckConstraint(
                condition=~Q(
                    condition__in=[
                        "timeline_within",
                        "activities_logged",
                        "replies_received",
                        "web_form_resubmitted",
                        "recent_activity",
                    ]
                )
                | Q(number__gte=1),
                name="scoringrule_counted_has_number",
                violation_error_message="This condition needs N.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.condition in self.COUNTED and not self.number:
            raise ValidationError({"number": "This condition needs N."})
        if self.condition == self.Condition.TITLE_WORDS and not any(
            word.strip() for word in self.title_words
        ):
            raise ValidationError({"title_words": "Give at least one word."})
        if self.condition == self.Condition.COUNTRY_IN and not self.countries:
            raise ValidationError({"countries": "Choose at least one country."})
