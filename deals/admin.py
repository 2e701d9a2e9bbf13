from django.contrib import admin
from django.http import HttpRequest

from crm.admin import ReadOnlyAdmin
from deals.models import Company, Contact, Deal, Stage


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "probability", "kind", "is_active"]
    list_editable = ["position", "probability", "kind", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Stages with deals are protected by the database anyway; retire them instead.
        return False


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ["title", "stage", "value", "currency", "owner", "expected_close_date"]
    list_filter = ["stage"]
    list_select_related = ["stage", "owner"]
    search_fields = ["title"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["first_name", "last_name", "email", "company", "owner"]
    list_select_related = ["company", "owner"]
    search_fields = ["email", "last_name"]


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "domain", "owner"]
    list_select_related = ["owner"]
    search_fields = ["name", "domain"]
