"""The Celery app. Configuration lives in Django settings under ``CELERY_``; what its
signals do for the project (replica reads, the request id in task logs) is in
``crm.task_signals``, connected when the ``crm`` app is ready."""

import os
from pathlib import Path

from celery import Celery

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
