from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.timezone import now

from leads.emails import check_template_text
from leads.models import EmailTemplate, Lead, LostReason, Source, Tag


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
class LeadAdmin(admin.ModelAdmin):
    """Read-only here: leads change through the app, where the status rules and history
    apply. Admins use this to look things up."""

    list_display = ["number", "first_name", "last_name", "company", "status", "owner", "created_at"]
    list_filter = ["status", "rate", "source"]
    search_fields = ["number", "email"]
    show_full_result_count = False
    list_select_related = ["owner"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EmailTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body", "team", "owner", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        check_template_text(subject=data.get("subject") or "", body=data.get("body") or "")
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
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
