from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import Notification
from crm.notifications import notification_retry_email


class ReadOnlyAdmin(admin.ModelAdmin):
    """For looking records up: they change in the app, through the services that keep
    their rules and history right."""

    show_full_result_count = False
    # Django 6's default, today (and without its deprecation warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TolerantAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks the posted value up to show it again, so a
    garbage id (``²``, ``abc``) in a refused form was a ValueError while rendering the
    form's errors. Values its field cannot read are simply not shown; the form's own
    validation has already said "Select a valid choice"."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        target = self.field.target_field

        def readable(item: Any) -> bool:
            try:
                target.get_prep_value(target.to_python(item))
            except (ValueError, TypeError, ValidationError):
                return False
            return True

        return super().optgroups(name, [item for item in value if readable(item)], attr)


class TolerantAutocomplete:
    """For a ModelAdmin or inline with ``autocomplete_fields``: see TolerantAutocompleteSelect."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        admin_ = cast(Any, self)
        if "widget" not in kwargs and db_field.name in admin_.get_autocomplete_fields(request):
            kwargs["widget"] = TolerantAutocompleteSelect(
                db_field, admin_.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, for looking up what was sent to whom, and retrying failed emails."""

    list_display = ["created_at", "user", "kind", "title", "email_state", "email_attempts"]
    list_filter = ["kind", "email_state"]
    search_fields = ["user__email", "title", "key"]
    list_select_related = ["user"]
    show_full_result_count = False
    readonly_fields = [field.name for field in Notification._meta.fields]
    actions = ["retry_email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Retry the failed emails")
    def retry_email(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        retried = sum(notification_retry_email(notification=n) for n in queryset)
        self.message_user(request, f"{retried} email(s) queued again.", messages.SUCCESS)
