"""``manage.py import_leads FILE``: the import page's engine from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.models import User
from accounts.roles import Role
from leads.imports.mapping import FIELD_LABELS
from leads.imports.models import OnDuplicate
from leads.imports.parsing import ImportFileError
from leads.imports.services import ImportOptions, import_command

# --on-duplicate: "update" overwrites (as the page's "overwrite"), "update-empty" fills in.
ON_DUPLICATE = {
    "skip": OnDuplicate.SKIP,
    "update": OnDuplicate.UPDATE,
    "update-empty": OnDuplicate.UPDATE_EMPTY,
    "create": OnDuplicate.CREATE,
}
NO_USER = "No user {email}."
NO_ADMIN = "Pass --as EMAIL: the import is made as that person (there is no active admin)."
BAD_MAPPING = "{path}: {error}"


def read_mapping(path: str) -> dict[str, str]:
    """A JSON object: each column's header → a lead field (its name, e.g. "email", or its
    label, e.g. "Email"; "" or null to leave the column out)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise CommandError(BAD_MAPPING.format(path=path, error=error)) from error
    if isinstance(data, dict) and isinstance(data.get("mapping"), dict):
        data = data["mapping"]
    if not isinstance(data, dict):
        raise CommandError(BAD_MAPPING.format(path=path, error="expected a JSON object"))
    by_label = {label.lower(): name for name, label in FIELD_LABELS.items()}
    mapping = {}
    for header, target in data.items():
        target = str(target or "").strip()
        mapping[str(header)] = (
            target if target in FIELD_LABELS else by_label.get(target.lower(), "")
        )
    return mapping


def importer(email: str | None) -> User:
    if email:
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(NO_USER.format(email=email))
        return user
    admin = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value))
        .order_by("pk")
        .first()
    )
    if admin is None:
        raise CommandError(NO_ADMIN)
    return admin


class Command(BaseCommand):
    help = (
        "Import leads from a CSV or XLSX file, as the import page does. Prints the report "
        "as JSON on its last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing.")
        parser.add_argument("--on-duplicate", choices=sorted(ON_DUPLICATE), default="skip")
        parser.add_argument(
            "--mapping", default="auto", help="auto (guess from the headers) or a JSON file."
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Processes translating rows beside the database work (1: a thread).",
        )
        parser.add_argument("--as", dest="as_email", help="Import as this user (email).")
        parser.add_argument(
            "--default-region", default="", help="Country for phones without a code (e.g. US)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        actor = importer(options["as_email"])
        mapping = None if options["mapping"] == "auto" else read_mapping(options["mapping"])
        import_options = ImportOptions.from_dict(
            {
                "on_duplicate": ON_DUPLICATE[options["on_duplicate"]],
                "default_region": options["default_region"],
            }
        )
        try:
            with path.open("rb") as stream:
                report, batch = import_command(
                    stream=stream,
                    name=path.name,
                    size=path.stat().st_size,
                    actor=actor,
                    options=import_options,
                    mapping=mapping,
                    dry_run=options["dry_run"],
                    processes=options["processes"],
                )
        except ImportFileError as error:
            raise CommandError(str(error)) from error
        if batch is not None:
            self.stderr.write(f"Import {batch.reference} as {actor.email}.")
        for warning in report.warnings[:50]:
            self.stderr.write(f"Row {warning['row']}: {warning['reason']}")
        self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
