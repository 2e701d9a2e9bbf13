"""Every change to users and teams goes through these functions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import TOKEN_PREFIX, ApiToken, Membership, Team, User, hash_token
from accounts.roles import Role

# What the API token pages and the command say (tests assert the exact text).
TOKEN_ALREADY_REVOKED = "This token was already revoked."  # noqa: S105 - a message
TOKEN_EXPIRY_MAX_DAYS = 3650
# How often a token's "last used" is written: not on every request.
TOKEN_LAST_USED_EVERY = timedelta(minutes=1)

# Enqueued by name: the task module calls these services, so they do not import it.
SEND_INVITATION = "accounts.tasks.send_invitation"


@transaction.atomic
def user_create(
    *,
    email: str,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    timezone_name: str = "UTC",
    password: str | None = None,
    send_invitation: bool = True,
) -> User:
    """Create a user with a role. Without a password, they get an email to choose one."""
    user = User.objects.create_user(
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        timezone=timezone_name,
    )
    user_set_role(user=user, role=role)
    if send_invitation:
        transaction.on_commit(lambda: current_app.send_task(SEND_INVITATION, args=[user.pk]))
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Give the user exactly one role group. Only admins reach the Django admin."""
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups)
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    user.is_staff = role == Role.ADMIN
    user.save(update_fields=["is_staff"])
    # has_perm caches permissions on the instance; the role just changed them.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


@transaction.atomic
def team_add_member(*, team: Team, user: User, role: Membership.Role) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


def invitation_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SITE_URL}{path}"


def user_send_invitation(*, user: User) -> bool:
    """Email a link to choose a password. Returns False for users who cannot sign in."""
    if not user.is_active:
        return False
    context = {"user": user, "url": invitation_url(user), "site_url": settings.SITE_URL}
    send_mail(
        subject="Your CRM account is ready",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
        html_message=render_to_string("accounts/email/invitation.html", context),
    )
    user.invitation_sent_at = timezone.now()
    user.save(update_fields=["invitation_sent_at"])
    return True


# --- Personal access tokens (the REST API, crm.api) ---------------------------------------


def _new_token() -> tuple[str, str]:
    """(prefix, whole token). The prefix is 8 hex digits, looked up by its unique index;
    the rest is the secret."""
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    scope: str = ApiToken.Scope.READ,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns it with its secret, which is never stored (only
    its hash) and so can be shown this once."""
    while True:
        prefix, secret = _new_token()
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    token = ApiToken(
        user=user,
        name=" ".join(name.split()),
        scope=scope,
        prefix=prefix,
        token_hash=hash_token(secret),
        expires_at=expires_at,
    )
    token.full_clean(exclude=["user"])
    token.save()
    return token, secret


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token for good (it stays listed, as revoked)."""
    if token.revoked_at is not None:
        raise ValidationError(TOKEN_ALREADY_REVOKED)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Note that the token was used: at most one write a minute per token, and none when
    another request just did (the condition is in the UPDATE itself)."""
    at = timezone.now()
    if token.last_used_at is not None and at - token.last_used_at < TOKEN_LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=at - TOKEN_LAST_USED_EVERY)
    ).update(last_used_at=at)
    token.last_used_at = at
