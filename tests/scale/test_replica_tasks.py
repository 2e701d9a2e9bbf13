"""The Celery tasks of DATABASE_REPLICA_TASKS run with replica reads allowed; others not."""

from __future__ import annotations

import pytest

from crm import db_router
from crm.celery import app
from crm.followups import tasks  # noqa: F401 (registers the tasks)


def scope_seen_by(task_name: str, target: str, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []

    def record(**kwargs: object) -> int:
        seen.append(db_router._replica_scope.get())
        return 0

    monkeypatch.setattr(target, record)
    app.tasks[task_name].apply()  # in this process, with the task signals a worker sends
    return seen


def test_the_digest_scan_may_read_a_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    task = "crm.followups.tasks.remind_digests"
    seen = scope_seen_by(task, "crm.followups.digest.digests_dispatch", monkeypatch)
    assert seen == [True]
    assert db_router._replica_scope.get() is False  # and only while it runs


def test_the_task_reminder_scan_reads_the_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    task = "crm.followups.tasks.remind_tasks_due"
    seen = scope_seen_by(task, "crm.followups.reminders.reminders_dispatch", monkeypatch)
    assert seen == [False]
