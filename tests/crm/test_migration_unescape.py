"""crm 0003: notification texts once stored HTML-escaped are plain text again; the HTML
email part and texts without an entity are left alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from crm.models import Notification
from tests.factories import make_user

BEFORE = [("crm", "0002_add_notification")]


@pytest.mark.django_db(transaction=True)
def test_escaped_notification_texts_are_unescaped() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE[0]).apps
    OldNotification = old.get_model("crm", "Notification")
    # Only crm went back: the users table is today's.
    person = make_user(email="escaped@example.com")
    common = {"user_id": person.pk, "kind": "task_assigned", "url": "/tasks/"}
    escaped = OldNotification.objects.create(
        **common,
        key="a",
        title="Q&amp;A prep &lt;pricing&gt;",
        body="Tom &amp; Jerry&#x27;s",
        email_subject="Reminder: Q&amp;A prep",
        email_text="Q&amp;A prep",
        email_html="<p>Q&amp;A prep</p>",
    )
    plain = OldNotification.objects.create(**common, key="b", title="Plain & simple")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    row = Notification.objects.get(pk=escaped.pk)
    assert (row.title, row.body) == ("Q&A prep <pricing>", "Tom & Jerry's")
    assert (row.email_subject, row.email_text) == ("Reminder: Q&A prep", "Q&A prep")
    assert row.email_html == "<p>Q&amp;A prep</p>"
    assert Notification.objects.get(pk=plain.pk).title == "Plain & simple"
