"""A round trip through a real Celery worker process and the configured broker (Redis in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from accounts import services
from accounts.models import User
from accounts.roles import Role
from crm import localdb

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_database_url() -> str:
    """A URL for the test database, so the worker writes where the test reads."""
    db = connection.settings_dict
    if not db["HOST"] or db["HOST"].startswith("/"):
        return localdb.socket_url(db["HOST"] or "/var/run/postgresql", db["NAME"])
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool",
            "solo",
            "-Q",
            ",".join(settings.CELERY_QUEUE_NAMES),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    print(output)  # shown by pytest when the test failed


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


test_database_url.__test__ = False


def test_a_task_enqueued_on_commit_runs_in_the_worker(
    celery_worker_process: subprocess.Popen,
) -> None:
    # user_create commits, then (on commit) enqueues the invitation email for the worker.
    user = services.user_create(email="invited.worker@example.com", role=Role.REP)
    assert user.invitation_sent_at is None

    def invitation_stamped() -> bool:
        assert celery_worker_process.poll() is None, "the worker died"
        return User.objects.get(pk=user.pk).invitation_sent_at is not None

    assert wait_for(invitation_stamped), "the worker never ran the invitation task"
