from django.contrib import admin
from django.http import HttpRequest

from leads.models import Lead, LostReason, Source, Tag


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
