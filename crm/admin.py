from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import Notification
from crm.notifications import notification_retry_email


class ReadOnlyAdmin(admin.ModelAdmin):
    """For looking records up: they change in the app, through the services that keep
    their rules and history right."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
