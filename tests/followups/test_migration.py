"""Moving tasks and email templates from ``leads`` to ``followups`` keeps every row, the
tables, and what points at them (content types: permissions, audit events, notifications)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.timezone import now

from crm.followups.models import EmailTemplate, Task

BEFORE = [("leads", "0005_default_templates_and_sla_backfill"), ("followups", None)]


def _migrate(targets: list[tuple[str, str | None]] | list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh graph that knows what is applied now


@pytest.mark.django_db(transaction=True)
def test_rows_and_content_types_survive_the_move() -> None:
    old = _migrate(BEFORE).loader.project_state(BEFORE[0]).apps
    User = old.get_model("accounts", "User")
    OldTask = old.get_model("leads", "Task")
    OldTemplate = old.get_model("leads", "EmailTemplate")
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    task_type, _ = ContentType.objects.get_or_create(app_label="leads", model="task")
    permission, _ = Permission.objects.get_or_create(
        content_type=task_type, codename="view_task", defaults={"name": "Can view task"}
    )
    person = User.objects.create(email="mover@example.com", timezone="UTC")
    due = now() + timedelta(days=1)
    task = OldTask.objects.create(title="Call back", due_at=due, assignee=person)
    template = OldTemplate.objects.create(name="Mine", subject="Hi", body="Hello", owner=person)

    # Forward to the latest migrations again (the later ones of leads went back too), so
    # the database is left as every other test expects it.
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = Task.objects.get(pk=task.pk)
    assert (moved.title, moved.due_at, moved.assignee_id) == ("Call back", due, person.pk)
    assert EmailTemplate.objects.get(pk=template.pk).name == "Mine"
    assert Task._meta.db_table == "leads_task"
    from django.contrib.auth.models import Permission as LivePermission
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    relabelled = LiveContentType.objects.get(pk=task_type.pk)
    assert (relabelled.app_label, relabelled.model) == ("followups", "task")
    assert LiveContentType.objects.get_for_model(Task).pk == task_type.pk
    assert LivePermission.objects.get(pk=permission.pk).content_type_id == task_type.pk
    # New rows keep numbering on from the old ones (the sequence moved with the table).
    assert Task.objects.create(title="Next", due_at=due, assignee_id=person.pk).pk > task.pk
