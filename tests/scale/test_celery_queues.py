"""Queues that cannot strand work: a plain worker (no ``-Q``, the command every Celery guide
shows) consumes every queue the project routes to, and ``-Q <queue>`` only that one. Real
worker subprocesses on the configured broker (Redis in CI)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from accounts.roles import Role
from crm.celery import app
from crm.followups import services as followups
from crm.followups.models import Task
from leads.imports import services as imports
from leads.imports.models import ImportBatch
from leads.models import Lead
from tests.imports.helpers import csv_bytes
from tests.scale.workers import Worker, purge_broker, queue_size, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


REMINDERS = queue_of("crm.followups.tasks.remind_tasks_due")
IMPORTS = queue_of(imports.IMPORT_TASK)
DEFAULT = queue_of("accounts.tasks.send_invitation")


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path) -> Iterator[list[Worker]]:
    purge_broker()
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()
    purge_broker()


def due_task(actor: User) -> Task:
    return followups.task_create(
        actor=actor, title="Call back", due_at=timezone.now() - timedelta(minutes=1)
    )


def queued_import(actor: User) -> ImportBatch:
    content = csv_bytes([["First name", "Email"], ["Queued", "queued.import@example.com"]])
    batch = imports.import_batch_create(
        actor=actor, upload=io.BytesIO(content), name="leads.csv", size=len(content)
    )
    return imports.import_batch_start(batch=batch, actor=actor)


def test_the_routes_name_three_separate_queues() -> None:
    assert [DEFAULT, REMINDERS, IMPORTS] == settings.CELERY_QUEUE_NAMES
    assert DEFAULT == settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_plain_worker_serves_every_routed_queue(
    workers: list[Worker], tmp_path: Path, admin: User
) -> None:
    workers.append(Worker(tmp_path / "plain.log", name="plain"))
    assert sorted(workers[0].consumed_queues()) == sorted(settings.CELERY_QUEUE_NAMES)

    invited = accounts.user_create(email="invited.plain@example.com", role=Role.REP)
    task = due_task(admin)
    app.send_task("crm.followups.tasks.remind_tasks_due")
    batch = queued_import(admin)

    def all_three_ran() -> bool:
        assert workers[0].alive()
        return (
            User.objects.get(pk=invited.pk).invitation_sent_at is not None
            and Task.objects.get(pk=task.pk).reminder_state == Task.Reminder.SENT
            and ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.DONE
        )

    wait_for(all_three_ran, what="the default, reminders and imports tasks")
    assert Lead.objects.filter(email="queued.import@example.com").count() == 1


def test_a_worker_given_one_queue_serves_only_that_queue(
    workers: list[Worker], tmp_path: Path, admin: User
) -> None:
    workers.append(Worker(tmp_path / "reminders.log", name="reminders", queues=[REMINDERS]))
    assert workers[0].consumed_queues() == [REMINDERS]

    # Enqueued before the reminder scan: a worker that also read `default` or `imports`
    # would have taken these by the time it has run the scan.
    invited = accounts.user_create(email="invited.reminders@example.com", role=Role.REP)
    batch = queued_import(admin)
    task = due_task(admin)
    app.send_task("crm.followups.tasks.remind_tasks_due")

    def reminded() -> bool:
        assert workers[0].alive()
        return Task.objects.get(pk=task.pk).reminder_state == Task.Reminder.SENT

    wait_for(reminded, what="the reminder scan")
    assert User.objects.get(pk=invited.pk).invitation_sent_at is None
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.QUEUED
    assert queue_size(DEFAULT) == 1
    assert queue_size(IMPORTS) == 1
