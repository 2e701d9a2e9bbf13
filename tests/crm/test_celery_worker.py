"""A round trip through a real Celery worker process and the configured broker (Redis in CI)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from accounts import services
from accounts.models import User
from accounts.roles import Role
from crm.workers import worker_command, worker_environment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen]:
    worker = subprocess.Popen(
        worker_command(),
        env=worker_environment(),
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
