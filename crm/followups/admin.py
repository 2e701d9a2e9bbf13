from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.timezone import now

from crm.admin import ReadOnlyAdmin, TolerantAutocomplete
from crm.followups.emails.services import check_template_text
from crm.followups.models import EmailTemplate, Task


class EmailTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body", "team", "owner", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        check_template_text(subject=data.get("subject") or "", body=data.get("body") or "")
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(TolerantAutocomplete, admin.ModelAdmin):
    """Team templates (with a team) and everyone's (no team, no owner) are kept here;
    people write their own on the email templates page."""

    form = EmailTemplateAdminForm
    list_display = ["name", "subject", "team", "owner", "is_active", "updated_at"]
    list_filter = ["is_active", "team", "owner"]
    search_fields = ["name", "subject"]
    list_select_related = ["team", "owner"]
    autocomplete_fields = ["owner"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_at = now()
        super().save_model(request, obj, form, change)


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    """Read-only, to look things up: tasks change in the app, through the services that
    keep their reminders and history right."""

    list_display = ["title", "kind", "assignee", "due_at", "done_at", "reminder_state"]
    list_filter = ["kind", "reminder_state"]
    search_fields = ["title", "assignee__email"]
    list_select_related = ["assignee"]
    show_full_result_count = False
