"""The Celery app. Configuration lives in Django settings under ``CELERY_``."""

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")


def task_packages() -> list[str]:
    """Every installed app, and each of our apps' capability packages (``leads/sla/``…),
    whose ``tasks`` module holds Celery tasks."""
    from django.apps import apps
    from django.conf import settings

    packages = []
    for config in apps.get_app_configs():
        packages.append(config.name)
        if Path(config.path).is_relative_to(settings.BASE_DIR):
            packages += [
                f"{config.name}.{p.parent.name}" for p in Path(config.path).glob("*/tasks.py")
            ]
    return packages


app.autodiscover_tasks(task_packages)


# The tasks of DATABASE_REPLICA_TASKS read from a replica (crm/db_router.py), the rest of
# their work (every transaction) on the primary.
_replica_tokens: dict[str, Any] = {}


@task_prerun.connect
def _replica_reads_on(task_id: str, task: Any, **kwargs: Any) -> None:
    from django.conf import settings

    from crm import db_router

    if task.name in settings.DATABASE_REPLICA_TASKS:
        _replica_tokens[task_id] = db_router.replica_scope_enter()


@task_postrun.connect
def _replica_reads_off(task_id: str, **kwargs: Any) -> None:
    from crm import db_router

    token = _replica_tokens.pop(task_id, None)
    if token is not None:
        db_router.replica_scope_exit(token)
