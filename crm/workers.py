"""A Celery worker started as a subprocess on this process's database and broker: what
the reminder benchmark and the tests that need a real worker run."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection

from crm import localdb


def database_url(db: dict[str, Any] | None = None) -> str:
    """A URL for this process's database (the test database, in a test), so a worker
    writes where its caller reads."""
    db = db or connection.settings_dict
    if not db["HOST"] or db["HOST"].startswith("/"):
        return localdb.socket_url(db["HOST"] or "/var/run/postgresql", db["NAME"])
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}{port}/{db['NAME']}"


def worker_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **extra,
    }


def worker_command(
    *,
    name: str | None = None,
    queues: Sequence[str] | None = None,
    pool: Sequence[str] = ("--pool", "solo"),
) -> list[str]:
    command = [sys.executable, "-m", "celery", "-A", "crm", "worker", *pool]
    if queues:
        command += ["-Q", ",".join(queues)]
    # Without -Q: every declared queue (CELERY_TASK_QUEUES), as a plain `celery worker`.
    if name:
        command += ["-n", f"{name}@%h"]
    return [*command, "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
