"""Run the whole CRM in the foreground: web server, Celery worker and Celery beat."""

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, seed the demo team, then run web + worker + beat until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--password", default=None, help="Password for the demo logins.")
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not create or refresh the demo data."
        )

    def handle(
        self, *args: Any, port: str, password: str | None, no_seed: bool, **options: Any
    ) -> None:
        from honcho.manager import Manager

        call_command("migrate", interactive=False, verbosity=1)
        call_command("createcachetable")
        if not no_seed:
            call_command("seed_demo", *(["--password", password] if password else []))

        python = sys.executable
        queues = ",".join(settings.CELERY_QUEUE_NAMES)
        schedule = settings.BASE_DIR / ".local" / "celerybeat-schedule"
        schedule.parent.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOpen http://127.0.0.1:{port}/  (broker: {broker}; Ctrl-C stops everything)\n"
            )
        )

        manager = Manager()
        manager.add_process("web", f"{python} manage.py runserver 127.0.0.1:{port}", env=env)
        manager.add_process(
            "worker",
            f"{python} -m celery -A crm worker -l INFO -Q {queues} --concurrency 2",
            env=env,
        )
        manager.add_process(
            "beat", f"{python} -m celery -A crm beat -l INFO -s {schedule}", env=env
        )
        manager.loop()
        sys.exit(manager.returncode)
