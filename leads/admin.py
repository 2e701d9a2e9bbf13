import re
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import TIMEZONE_CHOICES
from crm.admin import ReadOnlyAdmin
from leads.models import (
    AssignmentRule,
    Lead,
    LeadSettings,
    LostReason,
    ResponseTarget,
    ScoringRule,
    Source,
    Tag,
    format_minutes,
)


@admin.register(Source, LostReason)
class NamedChoiceAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    """Read-only here: leads change through the app, where the status rules and history
    apply. Admins use this to look things up."""

    list_display = ["number", "first_name", "last_name", "company", "status", "owner", "created_at"]
    list_filter = ["status", "rate", "source"]
    search_fields = ["number", "email"]
    show_full_result_count = False
    list_select_related = ["owner"]


def _channel_choices(label: str, model: str) -> list[tuple[int, str]]:
    """The web forms or mailboxes a rule may name (their apps sit above the rules')."""
    if not apps.is_installed(f"leads.{label}"):
        return []
    found = apps.get_model(label, model)._default_manager.order_by("name")
    return [(row.pk, str(row)) for row in found]


class AssignmentRuleForm(forms.ModelForm):
    web_form_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Web forms", help_text="It came in through one of these."
    )
    mailbox_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Mailboxes", help_text="It came in to one of these."
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "name",
            "position",
            "is_active",
            "sources",
            "web_form_ids",
            "mailbox_ids",
            "countries",
            "region",
            "tags",
            "min_value",
            "max_value",
            "user",
            "team",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        web_forms = self.fields["web_form_ids"]
        mailboxes = self.fields["mailbox_ids"]
        assert isinstance(web_forms, forms.TypedMultipleChoiceField)  # noqa: S101
        assert isinstance(mailboxes, forms.TypedMultipleChoiceField)  # noqa: S101
        web_forms.choices = _channel_choices("webforms", "WebForm")
        mailboxes.choices = _channel_choices("inbound", "Mailbox")


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    """Who new leads nobody owns go to: the first active rule, in order, whose every set
    condition matches. Its lead's history says which rule placed it."""

    form = AssignmentRuleForm
    list_display = ["name", "position", "is_active", "target", "last_assigned"]
    list_editable = ["position", "is_active"]
    list_select_related = ["user", "team", "last_assigned"]
    filter_horizontal = ["sources", "tags"]
    readonly_fields = ["last_assigned"]
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active")}),
        (
            "When a new lead nobody owns… (empty: any)",
            {
                "fields": (
                    "sources",
                    "web_form_ids",
                    "mailbox_ids",
                    "countries",
                    "region",
                    "tags",
                    ("min_value", "max_value"),
                )
            },
        ),
        ("…give it to", {"fields": ("user", "team", "last_assigned")}),
    )

    @admin.display(description="Goes to")
    def target(self, rule: AssignmentRule) -> str:
        if rule.user_id is not None:
            return str(rule.user)
        return f"{rule.team} (round-robin)"


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
NO_WORKING_DAYS = "Tick at least one working day, or count every hour."


class SingleRowAdmin(admin.ModelAdmin):
    """A settings model with one row (``Model.current()``): the list goes straight to it."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # The change view checks the permissions again.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        row = self.model.current()
        return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not self.model._default_manager.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


DURATION_HELP = "For example 5 min, 2 h, 1 h 30 min or 2 days."
DURATION_INVALID = "Say how long with a unit: 5 min, 2 h, 1 h 30 min or 2 days."
DURATION_UNITS = {
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
    "d": 24 * 60, "day": 24 * 60, "days": 24 * 60,
}  # fmt: skip
DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
MAX_MINUTES = 365 * 24 * 60


class DurationField(forms.CharField):
    """Minutes, typed the way people say them: "5 min", "24 h", "1 h 30 min", "2 days"."""

    def __init__(self, *, minimum: int = 0, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(help_text=DURATION_HELP, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return format_minutes(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = " ".join(str(value or "").lower().replace(",", " ").split())
        if not text:
            return None
        parts = DURATION_PART.findall(text)
        if (
            not parts
            or DURATION_PART.sub("", text).strip()
            or any(unit not in DURATION_UNITS for _, unit in parts)
        ):
            raise forms.ValidationError(DURATION_INVALID)
        minutes = sum(int(number) * DURATION_UNITS[unit] for number, unit in parts)
        if minutes < self.minimum or minutes > MAX_MINUTES:
            raise forms.ValidationError(
                f"Enter between {format_minutes(max(self.minimum, 0))} and 365 days."
            )
        return minutes


class ResponseTargetForm(forms.ModelForm):
    first_contact_minutes = DurationField(label="Contact new leads within", minimum=1)
    escalate_after_minutes = DurationField(
        label="Escalate to the manager after a further", minimum=0
    )
    working_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)

    class Meta:
        model = ResponseTarget
        fields = [
            "first_contact_minutes",
            "escalate_after_minutes",
            "business_hours_only",
            "workday_start",
            "workday_end",
            "working_days",
            "timezone",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("business_hours_only") and not data.get("working_days"):
            self.add_error("working_days", NO_WORKING_DAYS)
        return data


@admin.register(ResponseTarget)
class ResponseTargetAdmin(SingleRowAdmin):
    """One row: the team's first-contact target. A lead's deadline is set when it arrives,
    so a change applies to leads that arrive afterwards (nobody's deadline moves under them,
    and nobody is alerted about the past)."""

    form = ResponseTargetForm
    list_display = ["__str__", "business_hours_only", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": ["first_contact_minutes", "escalate_after_minutes"],
                "description": (
                    "New leads must be contacted within this time, or their owner is alerted "
                    "(the team's managers for an unassigned lead); still untouched after the "
                    "further delay, the owner's manager is. Changes apply to leads that "
                    "arrive from now on."
                ),
            },
        ),
        (
            "Working hours",
            {
                "fields": [
                    "business_hours_only",
                    ("workday_start", "workday_end"),
                    "working_days",
                    "timezone",
                ]
            },
        ),
    ]


@admin.register(LeadSettings)
class LeadSettingsAdmin(SingleRowAdmin):
    """One row: how new lead numbers look, and who may create tags."""

    fieldsets = [
        (
            "Lead numbers",
            {
                "fields": ["number_prefix", "number_width"],
                "description": (
                    "Applies to leads created from now on; existing numbers stay as they are, "
                    "and a number typed by hand is never given out again."
                ),
            },
        ),
        ("Tags", {"fields": ["reps_can_create_tags"]}),
        (
            "Scoring",
            {
                "fields": ["score_hot_from", "score_warm_from", "score_decay_per_week"],
                "description": (
                    "The rate a lead's score suggests (a person still decides), and how "
                    "fast a score fades while nobody works the lead. The rules themselves "
                    "are under Scoring rules."
                ),
            },
        ),
    ]


class ScoringRuleForm(forms.ModelForm):
    title_words = forms.CharField(
        required=False,
        label="Job title words",
        help_text="Comma-separated, matched as whole words ignoring case: CEO, founder, head.",
    )

    class Meta:
        model = ScoringRule
        fields = [
            "name",
            "condition",
            "points",
            "number",
            "title_words",
            "sources",
            "countries",
            "position",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["title_words"] = ", ".join(self.instance.title_words or [])

    def clean_title_words(self) -> list[str]:
        raw = self.cleaned_data.get("title_words") or ""
        words = [" ".join(word.split()) for word in raw.split(",")]
        too_long = [word for word in words if len(word) > 40]
        if too_long:
            raise forms.ValidationError(f"Keep each word to 40 characters: {too_long[0][:40]}…")
        return [word for word in words if word]


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    """What a lead's score is made of. Each active rule whose condition holds gives its
    points (or takes them, if negative); less the inactivity decay of the lead settings,
    clamped to 0–100. Changes apply as leads change, and to all of them overnight (or at
    once with ``manage.py score_leads``)."""

    form = ScoringRuleForm
    list_display = ["name", "condition", "points", "number", "position", "is_active"]
    list_editable = ["points", "position", "is_active"]
    list_filter = ["is_active", "condition"]
    filter_horizontal = ["sources"]
    search_fields = ["name"]
