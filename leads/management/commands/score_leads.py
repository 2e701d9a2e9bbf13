"""``manage.py score_leads [--chunk N]``: rescore every lead now (what the nightly task
does), e.g. after changing the scoring rules. Prints one JSON object on its last line."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leads.scoring.services import CHUNK_IDS, rescore_all


class Command(BaseCommand):
    help = "Recompute every lead's score (rules and inactivity decay), in id ranges."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk",
            type=int,
            default=CHUNK_IDS,
            help=f"Lead ids per transaction (default {CHUNK_IDS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk = options["chunk"]
        if not 1 <= chunk <= 10_000_000:
            self.stderr.write("--chunk must be between 1 and 10000000.")
            raise SystemExit(2)
        report = rescore_all(chunk=chunk)
        self.stdout.write(json.dumps(report.as_json()))
