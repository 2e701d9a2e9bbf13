"""``api_token create EMAIL --name N [--scope read|write] [--expires-days N]`` prints the
new token on its last line (for scripts: ``TOKEN=$(manage.py api_token create … | tail -1)``);
``api_token list [EMAIL]`` and ``api_token revoke ID`` manage them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import TOKEN_EXPIRY_MAX_DAYS, api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, list and revoke personal access tokens for the REST API."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a token; prints it on the last line.")
        create.add_argument("email")
        create.add_argument("--name", required=True)
        create.add_argument("--scope", choices=ApiToken.Scope.values, default="read")
        create.add_argument("--expires-days", type=int, default=None)
        listing = actions.add_parser("list", help="Tokens (of one user), newest first.")
        listing.add_argument("email", nargs="?")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _user(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the email {email}.")
        return user

    def _create(
        self, *, email: str, name: str, scope: str, expires_days: int | None, **_: Any
    ) -> None:
        user = self._user(email)
        expires_at = None
        if expires_days is not None:
            if not 1 <= expires_days <= TOKEN_EXPIRY_MAX_DAYS:
                raise CommandError(f"--expires-days must be 1 to {TOKEN_EXPIRY_MAX_DAYS}.")
            expires_at = timezone.now() + timedelta(days=expires_days)
        try:
            token, secret = api_token_create(
                user=user, name=name, scope=scope, expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        self.stdout.write(
            f"Token {token.pk} “{token.name}” ({token.scope}) for {user.email}{until}. "
            "It is shown only now:"
        )
        self.stdout.write(secret)

    def _list(self, *, email: str | None, **_: Any) -> None:
        tokens = ApiToken.objects.select_related("user")
        if email:
            tokens = tokens.filter(user=self._user(email))
        for token in tokens:
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.user.email}\t{token.name}\t{token.scope}\t"
                f"{token.display_prefix}\t{token.state}\texpires {expires}\tused {used}"
            )

    def _revoke(self, *, id: int, **_: Any) -> None:
        token = ApiToken.objects.select_related("user").filter(pk=id).first()
        if token is None:
            raise CommandError(f"No token with the id {id}.")
        try:
            api_token_revoke(token=token)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Revoked token {token.pk} “{token.name}” of {token.user.email}.")
