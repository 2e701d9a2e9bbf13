from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import TIMEZONE_CHOICES
from crm.admin import ReadOnlyAdmin
from leads.models import Lead, LostReason, ResponseTarget, Source, Tag


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


class ResponseTargetForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)

    class Meta:
        model = ResponseTarget
        fields = [
            "first_contact_hours",
            "escalate_after_hours",
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
class ResponseTargetAdmin(admin.ModelAdmin):
    """One row: the team's first-contact target. A lead's deadline is set when it arrives,
    so a change applies to leads that arrive afterwards (nobody's deadline moves under them,
    and nobody is alerted about the past)."""

    form = ResponseTargetForm
    list_display = ["__str__", "escalate_after_hours", "business_hours_only", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": ["first_contact_hours", "escalate_after_hours"],
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

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # There is only the one row: go straight to it (the change view checks permissions).
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        target = ResponseTarget.current()
        return redirect(reverse("admin:leads_responsetarget_change", args=[target.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ResponseTarget.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
