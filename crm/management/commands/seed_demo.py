from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import demo

DEFAULT_PASSWORD = "demo-crm-2026"  # noqa: S105  (a demo login, printed on purpose)


class Command(BaseCommand):
    help = "Create the demo team and demo data. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password for every demo login (default: {DEFAULT_PASSWORD}).",
        )

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        users = demo.seed_users(password=password)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in with:"))
        for user in users:
            role = user.role.label if user.role else "no role"
            self.stdout.write(f"  {user.email:<22} {password}   ({role})")
