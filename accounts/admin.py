from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import TIMEZONE_CHOICES, ApiToken, Membership, Team, User
from accounts.roles import Role
from crm.admin import TolerantAutocomplete


class UserAddForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="UTC")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)
    send_invitation = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Email them a link to choose their password.",
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "timezone"]


class UserChangeForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)
    role = forms.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "timezone", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.role:
            self.fields["role"].initial = self.instance.role


class MembershipInline(TolerantAutocomplete, admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class UserMembershipInline(TolerantAutocomplete, admin.TabularInline):
    model = Membership
    extra = 0
    verbose_name = "team"
    verbose_name_plural = "teams"
    autocomplete_fields = ["team"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    list_display = ["email", "get_full_name", "role_name", "team_names", "is_active", "last_login"]
    list_filter = ["is_active", "groups", "memberships__team"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined", "invitation_sent_at"]
    inlines = [UserMembershipInline]
    actions = ["resend_invitation"]
    fieldsets = (
        (None, {"fields": ("email", "first_name", "last_name", "timezone")}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Leads", {"fields": ("lead_capacity",)}),
        ("History", {"fields": ("last_login", "date_joined", "invitation_sent_at")}),
    )
    add_fieldsets = (
        (None, {"fields": ("email", "first_name", "last_name", "timezone")}),
        ("Access", {"fields": ("role", "send_invitation")}),
    )
    filter_horizontal = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups", "memberships__team")

    @admin.display(description="Role")
    def role_name(self, user: User) -> str:
        return user.role.label if user.role else "—"

    @admin.display(description="Teams")
    def team_names(self, user: User) -> str:
        return ", ".join(m.team.name for m in user.memberships.all()) or "—"

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool
    ) -> None:
        role = Role(form.cleaned_data["role"])
        if change:
            with transaction.atomic():
                obj.save()
                services.user_set_role(user=obj, role=role)
            return
        created = services.user_create(
            email=form.cleaned_data["email"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            timezone_name=form.cleaned_data["timezone"],
            role=role,
            send_invitation=form.cleaned_data["send_invitation"],
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    @admin.action(description="Email the selected users a link to set their password")
    def resend_invitation(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = sum(services.user_send_invitation(user=user) for user in queryset)
        self.message_user(request, f"Sent {sent} invitation(s).", messages.SUCCESS)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager_names", "member_count"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).prefetch_related("memberships__user")

    @admin.display(description="Managers")
    def manager_names(self, team: Team) -> str:
        managers = [m.user for m in team.memberships.all() if m.role == Membership.Role.MANAGER]
        return ", ".join(str(user) for user in managers) or "—"

    @admin.display(description="Members")
    def member_count(self, team: Team) -> int:
        return sum(1 for m in team.memberships.all() if m.role == Membership.Role.MEMBER)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every user's API tokens, for admins to see and revoke (users make their own on the
    profile page; scripts with ``manage.py api_token``). Nothing here shows a secret."""

    list_display = ["name", "user", "scope", "display_prefix", "created_at", "expires_at"]
    list_display += ["last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "scope", "display_prefix", "created_at", "expires_at"]
    readonly_fields += ["last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.api_token_revoke(token=token)
            done += 1
        self.message_user(request, f"Revoked {done} token(s).", messages.SUCCESS)
