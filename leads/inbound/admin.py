from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from crm.admin import ReadOnlyAdmin
from leads.inbound import services
from leads.inbound.models import InboundEmail, Mailbox

ENDPOINT_SHOWN_ONCE = (
    "Mailbox “{name}”: post messages to {url} (or pipe them to `manage.py ingest_email "
    '--mailbox "{name}"`). The token is shown only now; replace it if it is lost.'
)
HEADERS_SHOWN = 16 * 1024
REPROCESSED = "{count} message(s) processed again: {outcomes}."
NOT_REPROCESSABLE = (
    "{count} message(s) skipped: only failed or unprocessed ones are processed again."
)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "source", "team", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fields = ["name", "is_active", "source", "team"]
    actions = ["replace_token"]

    def save_model(self, request: HttpRequest, obj: Mailbox, form: Any, change: bool) -> None:
        token = None if change else obj.new_token()
        super().save_model(request, obj, form, change)
        if token is not None:
            self._show_token(request, obj, token)

    def _show_token(self, request: HttpRequest, mailbox: Mailbox, token: str) -> None:
        url = services.endpoint_url(token)
        messages.warning(request, ENDPOINT_SHOWN_ONCE.format(name=mailbox.name, url=url))

    @admin.action(description="Replace the token (the old one stops working)")
    def replace_token(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        for mailbox in queryset:
            self._show_token(request, mailbox, services.mailbox_rotate_token(mailbox=mailbox))


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Read-only: what came in stays as it came. Failed messages can be processed again."""

    list_display = ["received_at", "mailbox", "sender_email", "subject", "status", "lead"]
    list_filter = ["status", "mailbox"]
    search_fields = ["sender_email", "sender_name", "subject", "message_id"]
    list_select_related = ["mailbox", "lead"]
    date_hierarchy = "received_at"
    exclude = ["raw"]
    readonly_fields = [
        "raw_message",
        "headers",
        "mailbox",
        "received_at",
        "size",
        "message_id",
        "sender_name",
        "sender_email",
        "subject",
        "preview",
        "text",
        "attachments",
        "status",
        "reason",
        "lead",
        "deal_id",
        "processed_at",
        "attempts",
    ]
    actions = ["reprocess"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundEmail]:
        # The raw bytes (up to the cap, each) are read only where they are shown.
        return super().get_queryset(request).defer("raw", "text").annotate(kept=Length("raw"))

    def get_urls(self) -> list[URLPattern]:
        raw = path(
            "<int:pk>/raw/",
            self.admin_site.admin_view(self.raw_view),
            name="inbound_inboundemail_raw",
        )
        return [raw, *super().get_urls()]

    def raw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The message as it came, to open in a mail client (an attachment, never shown)."""
        inbound = get_object_or_404(InboundEmail, pk=pk)
        if not self.has_view_permission(request, inbound):
            raise PermissionDenied
        response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="inbound-{pk}.eml"'
        return response

    @admin.display(description="Raw message")
    def raw_message(self, obj: InboundEmail) -> str:
        url = reverse("admin:inbound_inboundemail_raw", args=[obj.pk])
        kept = getattr(obj, "kept", None) or 0
        return format_html('<a href="{}">Download (.eml, {} bytes kept)</a>', url, kept)

    @admin.display(description="Headers")
    def headers(self, obj: InboundEmail) -> str:
        raw = bytes(obj.raw[:HEADERS_SHOWN])
        block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        return format_html("<pre>{}</pre>", block.decode("utf-8", "replace"))

    @admin.action(description="Re-process the selected messages", permissions=["view"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        done, skipped = [], 0
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            result = services.inbound_email_reprocess(pk=pk)
            if result is None:
                skipped += 1
            else:
                done.append(f"#{result.pk} {result.get_status_display().lower()}")
        if done:
            outcomes = ", ".join(done)
            messages.info(request, REPROCESSED.format(count=len(done), outcomes=outcomes))
        if skipped:
            messages.warning(request, NOT_REPROCESSABLE.format(count=skipped))
