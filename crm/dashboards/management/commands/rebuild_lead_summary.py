import json
import time
from typing import Any

from django.core.management.base import BaseCommand

from crm.dashboards.services import summary_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard's daily lead summary from the leads (prints JSON)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = summary_rebuild()
        result["seconds"] = round(time.perf_counter() - started, 2)
        self.stdout.write(json.dumps(result))
