from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.html import format_html

from leads.webforms.forms import TRACKING
from leads.webforms.models import FIELD_NAMES, FIELDS, WebForm, WebFormRefusal
from leads.webforms.protection import HONEYPOT, embed_token
from leads.webforms.services import ACK_PLACEHOLDERS, ack_problems

UNKNOWN_ACK_PLACEHOLDER = "Unknown placeholder {placeholder}; use one of: {known}."


class WebFormAdminForm(forms.ModelForm):
    redirect_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="Redirect URL",
        help_text="Instead of the message, send the visitor here (its host must be listed).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tick boxes for the two lists (the model's field is called ``fields``, which a
        # class attribute of a form cannot be).
        self.fields["fields"] = forms.MultipleChoiceField(
            choices=FIELDS,
            widget=forms.CheckboxSelectMultiple,
            help_text="What the form asks, in this order.",
            initial=self.instance.fields,
        )
        self.fields["required"] = forms.MultipleChoiceField(
            choices=FIELDS,
            widget=forms.CheckboxSelectMultiple,
            required=False,
            help_text="Which of those must be filled in.",
            initial=self.instance.required,
        )

    class Meta:
        model = WebForm
        fields = [
            "name",
            "slug",
            "is_active",
            "title",
            "intro",
            "source",
            "team",
            "tags",
            "fields",
            "required",
            "consent_text",
            "consent_required",
            "success_message",
            "redirect_url",
            "allowed_hosts",
            "acknowledge",
            "ack_subject",
            "ack_body",
        ]

    def clean_fields(self) -> list[str]:
        chosen = set(self.cleaned_data["fields"])
        return [name for name in FIELD_NAMES if name in chosen]

    def clean_required(self) -> list[str]:
        chosen = set(self.cleaned_data["required"])
        return [name for name in FIELD_NAMES if name in chosen]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        probe = WebForm(ack_subject=data.get("ack_subject", ""), ack_body=data.get("ack_body", ""))
        for placeholder in ack_problems(probe):
            self.add_error(
                "ack_body",
                UNKNOWN_ACK_PLACEHOLDER.format(
                    placeholder=placeholder,
                    known=", ".join(f"{{{{ {n} }}}}" for n in ACK_PLACEHOLDERS),
                ),
            )
        return data


class RefusalInline(admin.TabularInline):
    model = WebFormRefusal
    extra = 0
    can_delete = False
    fields = ["reason", "count", "last_at"]
    readonly_fields = ["reason", "count", "last_at"]
    verbose_name_plural = "Refused submissions"

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


def snippet(form: WebForm) -> str:
    """Plain HTML a website pastes in: it posts straight to the form's endpoint, without
    JavaScript. It carries the form's embed token (not a per-render one: nothing runs)."""
    return render_to_string(
        "webforms/snippet.html",
        {
            "form": form,
            "action": f"{settings.SITE_URL.rstrip('/')}{form.get_absolute_url()}",
            "token": embed_token(form),
            "honeypot": HONEYPOT,
            "tracking": TRACKING,
            "labels": dict(FIELDS),
        },
    ).strip()


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    form = WebFormAdminForm
    list_display = ["name", "slug", "is_active", "source", "team", "submissions", "refused", "page"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["tags"]
    inlines = [RefusalInline]
    readonly_fields = ["submissions", "embed_code"]
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active", "title", "intro")}),
        ("What it asks", {"fields": ("fields", "required", "consent_text", "consent_required")}),
        ("Where its leads go", {"fields": ("source", "team", "tags")}),
        ("After sending", {"fields": ("success_message", "redirect_url", "allowed_hosts")}),
        ("Acknowledgement email", {"fields": ("acknowledge", "ack_subject", "ack_body")}),
        ("On your website", {"fields": ("embed_code", "submissions")}),
    )

    def get_queryset(self, request: Any) -> Any:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("refusals")
            .select_related("source", "team")
        )

    @admin.display(description="Refused")
    def refused(self, form: WebForm) -> int:
        return sum(refusal.count for refusal in form.refusals.all())

    @admin.display(description="Page")
    def page(self, form: WebForm) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">/f/{}/</a>',
            form.get_absolute_url(),
            form.slug,
        )

    @admin.display(description="Embed it")
    def embed_code(self, form: WebForm) -> str:
        if form.pk is None:
            return "Save the form first."
        site = settings.SITE_URL.rstrip("/")
        frame = (
            f'<iframe src="{site}{form.get_absolute_url()}?embed=1" title="{form.name}" '
            'style="width:100%;min-height:40rem;border:0" loading="lazy"></iframe>'
        )
        return format_html(
            "<p>Link to the hosted page: <code>{}{}</code></p>"
            "<p><strong>A frame</strong> (the best protection; list your site's host under "
            "allowed hosts):</p>"
            '<textarea readonly rows="3" cols="100" class="vLargeTextField">{}</textarea>'
            "<p><strong>Plain HTML</strong> to paste into your site (posts here, no JavaScript; "
            "fill the hidden utm_ fields on your side if you track campaigns):</p>"
            '<textarea readonly rows="14" cols="100" class="vLargeTextField">{}</textarea>',
            site,
            form.get_absolute_url(),
            frame,
            snippet(form),
        )
