"""Building import files and running the engine the way the command does."""

from __future__ import annotations

import csv
import io
from typing import Any

from accounts.models import User
from leads.imports.models import ImportBatch
from leads.imports.services import ImportOptions, ImportReport, import_command


def csv_bytes(
    rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def run(
    actor: User,
    content: bytes,
    *,
    name: str = "leads.csv",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    **options: Any,
) -> tuple[ImportReport, ImportBatch | None]:
    return import_command(
        stream=io.BytesIO(content),
        name=name,
        size=len(content),
        actor=actor,
        options=ImportOptions.from_dict(options),
        mapping=mapping,
        dry_run=dry_run,
    )


HEADER = ["First name", "Last name", "Email", "Phone", "Company"]
