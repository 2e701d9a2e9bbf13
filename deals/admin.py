from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import User
from crm.admin import ReadOnlyAdmin
from deals import services
from deals.models import Company, Contact, Deal, Stage

STAGE_POSITION_HELP = (
    "Where the stage sits in the pipeline: lowest first. A number another stage has "
    "already moves that stage (and those right behind it) one place down."
)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "probability", "kind", "is_active"]
    list_editable = ["position", "probability", "kind", "is_active"]

    def save_model(self, request: HttpRequest, obj: Stage, form: object, change: bool) -> None:
        # Also the list's inline edits: a position already taken makes room (stage_save).
        services.stage_save(stage=obj, actor=cast(User, request.user))

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "position" and field is not None:
            field.help_text = STAGE_POSITION_HELP
        return field

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
