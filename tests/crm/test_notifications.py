"""The notification outbox (crm.notifications) and the reminder scan (leads.reminders), in
process: created once per key, claimed once, sent once, retried with backoff, then failed.

Time is injected (``at=``) or frozen at the module's clock; nothing here sleeps. What a real
worker does with these functions is in test_reminder_delivery.py.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from crm import notifications
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.reminders import reminder_key, reminders_dispatch
from crm.models import Notification
from crm.notifications import RenderedEmail, build_notification, dispatch_emails, notify
from tests import mailbox
from tests.factories import make_lead, make_user

Email = Notification.Email
Reminder = Task.Reminder

EMAIL = RenderedEmail(subject="Call Ann", text="Call Ann now.", html="<p>Call Ann now.</p>")


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The batches handed to workers, recorded instead of sent to the broker."""
    batches: list[list[int]] = []
    monkeypatch.setattr(notifications, "_enqueue", lambda new: batches.extend(new))
    monkeypatch.setattr(notifications, "dispatch_emails_soon", lambda: None)
    return batches


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Freeze the outbox's clock (what ``send_email`` stamps and backs off from)."""
    current = [timezone.now()]
    monkeypatch.setattr(notifications, "now", lambda: current[0])

    def set_time(at: datetime) -> None:
        current[0] = at

    return set_time


@pytest.fixture
def file_mailbox(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "mail"
    monkeypatch.setenv("MAILBOX_DIR", str(directory))
    settings.EMAIL_BACKEND = "tests.mailbox.FileMailbox"
    return directory


def outbox_email(user: User, key: str = "k", at: datetime | None = None) -> Notification:
    created = notify(
        user=user, kind=Notification.Kind.REMINDER, key=key, title="Call Ann", email=EMAIL, at=at
    )
    assert created is not None
    return created


def reload(notification: Notification) -> Notification:
    return Notification.objects.get(pk=notification.pk)


def due_task(actor: User, **fields: Any) -> Task:
    fields.setdefault("due_at", timezone.now() - timedelta(minutes=1))
    fields.setdefault("title", "Call Ann back")
    return followups.task_create(actor=actor, **fields)


# --- notify: once per (user, key) -----------------------------------------------------------


@pytest.mark.django_db
def test_notify_creates_one_notification_per_key(
    rep: User, rep_b: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        first = notify(user=rep, kind=Notification.Kind.REMINDER, key="task:1", title="A")
    with django_capture_on_commit_callbacks() as again:
        second = notify(user=rep, kind=Notification.Kind.REMINDER, key="task:1", title="B")
    other_user = notify(user=rep_b, kind=Notification.Kind.REMINDER, key="task:1", title="C")

    assert first is not None
    assert second is None
    assert other_user is not None
    assert Notification.objects.get(user=rep).title == "A"
    assert first.email_state == Email.NONE
    assert callbacks == []  # no email, nothing to dispatch
    assert again == []


@pytest.mark.django_db
def test_notify_with_an_email_queues_it_in_the_outbox_and_asks_for_a_dispatch(
    rep: User, django_capture_on_commit_callbacks: Any
) -> None:
    at = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        created = outbox_email(rep, at=at)
    assert created.email_state == Email.PENDING
    assert created.email_due_at == at
    assert (created.email_subject, created.email_text) == (EMAIL.subject, EMAIL.text)
    assert callbacks == [notifications.dispatch_emails_soon]


@pytest.mark.django_db
def test_notify_many_leaves_notifications_already_there_as_they_are(rep: User) -> None:
    outbox_email(rep, key="a")
    notifications.notify_many(
        [
            build_notification(user=rep, kind="reminder", key="a", title="again"),
            build_notification(user=rep, kind="reminder", key="b", title="new"),
        ]
    )
    assert sorted(Notification.objects.values_list("key", "title")) == [
        ("a", "Call Ann"),
        ("b", "new"),
    ]


# --- dispatch: claim once, offer again when the claim expires --------------------------------


@pytest.mark.django_db
def test_dispatch_claims_due_emails_once_in_batches(
    rep: User, settings: Any, enqueued: list[list[int]], django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFICATION_EMAIL_BATCH = 2
    at = timezone.now()
    created = [outbox_email(rep, key=f"k{i}", at=at) for i in range(3)]
    later = outbox_email(rep, key="later", at=at + timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        claimed = dispatch_emails(at=at)
    with django_capture_on_commit_callbacks(execute=True):
        second = dispatch_emails(at=at)

    ids = [n.pk for n in created]
    assert claimed == ids
    assert second == []
    assert enqueued == [ids[:2], ids[2:]]
    for notification in created:
        notification = reload(notification)
        assert notification.email_state == Email.QUEUED
        assert notification.email_due_at == at + timedelta(
            seconds=settings.NOTIFICATION_CLAIM_SECONDS
        )
    assert reload(later).email_state == Email.PENDING  # not due yet


@pytest.mark.django_db
def test_dispatch_respects_its_limit(rep: User, enqueued: list[list[int]]) -> None:
    at = timezone.now()
    created = [outbox_email(rep, key=f"k{i}", at=at) for i in range(3)]
    assert dispatch_emails(at=at, limit=2) == [n.pk for n in created[:2]]
    assert dispatch_emails(at=at, limit=2) == [created[2].pk]


@pytest.mark.django_db
def test_an_expired_claim_is_offered_again(
    rep: User, settings: Any, enqueued: list[list[int]]
) -> None:
    at = timezone.now()
    email = outbox_email(rep, at=at)
    claim = timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    assert dispatch_emails(at=at) == [email.pk]

    # The worker that took it died: nothing happens until the claim runs out.
    assert dispatch_emails(at=at + claim - timedelta(seconds=1)) == []
    assert dispatch_emails(at=at + claim + timedelta(seconds=1)) == [email.pk]
    email = reload(email)
    assert email.email_state == Email.QUEUED
    assert email.email_due_at == at + claim + timedelta(seconds=1) + claim


# --- send: once, with retries -------------------------------------------------------------


@pytest.mark.django_db
def test_send_email_sends_a_claimed_email_once(
    rep: User, settings: Any, enqueued: list[list[int]]
) -> None:
    settings.SITE_URL = "https://crm.example.com"
    email = outbox_email(rep)
    assert notifications.send_email(email.pk) is False  # pending: not claimed yet
    dispatch_emails()

    assert notifications.send_email(email.pk) is True
    assert notifications.send_email(email.pk) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [rep.email]
    assert message.subject == "Call Ann"
    assert message.body == "Call Ann now."
    assert message.alternatives[0][0] == "<p>Call Ann now.</p>"
    assert message.extra_headers["Message-ID"] == f"<notification-{email.pk}@crm.example.com>"
    email = reload(email)
    assert email.email_state == Email.SENT
    assert email.email_attempts == 1
    assert email.email_sent_at is not None
    assert email.email_due_at is None


@pytest.mark.django_db
def test_send_emails_sends_a_batch_over_one_connection_and_skips_what_is_not_queued(
    rep: User, enqueued: list[list[int]]
) -> None:
    created = [outbox_email(rep, key=f"k{i}") for i in range(3)]
    dispatch_emails()
    notifications.send_email(created[0].pk)
    with CaptureQueriesContext(connection) as queries:
        sent = notifications.send_emails([n.pk for n in created] + [created[1].pk, 10**9])
    assert sent == 2
    assert len(mail.outbox) == 3
    # The claim taken afresh (the heartbeat's first beat), one read for the batch, then one
    # statement per email still queued, which takes the row and marks it sent (savepoints
    # stand in for BEGIN and COMMIT).
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [s for s in statements if s not in {"SAVEPOINT", "RELEASE"}] == [
        "UPDATE",
        "SELECT",
        "UPDATE",
        "UPDATE",
    ]


@pytest.mark.django_db
def test_the_heartbeat_extends_the_claim_of_the_batchs_unsent_rows_only(
    rep: User, settings: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFICATION_CLAIM_SECONDS = 20
    at = timezone.now() - timedelta(minutes=5)
    queued, sent, other = (outbox_email(rep, key=f"k{i}", at=at) for i in range(3))
    dispatch_emails(at=at)
    notifications.send_email(sent.pk)
    before = timezone.now()
    assert notifications.extend_claim([queued.pk, sent.pk]) == 1
    extended = reload(queued).email_due_at
    assert extended is not None
    assert extended >= before + timedelta(seconds=20)
    assert reload(sent).email_due_at is None
    assert reload(other).email_due_at == at + timedelta(seconds=20)  # not in this batch
    # The sweeper offers the rest again, not the batch whose worker is alive.
    assert dispatch_emails(at=before + timedelta(seconds=1)) == [other.pk]


class CountingBackend(BaseEmailBackend):
    """Counts connections; refuses the messages whose subject says so."""

    opened: ClassVar[int] = 0
    delivered: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.is_open = False

    def open(self) -> bool:
        if self.is_open:
            return False
        type(self).opened += 1
        self.is_open = True
        return True

    def close(self) -> None:
        self.is_open = False

    def send_messages(self, email_messages: Any) -> int:
        created = self.open()
        try:
            for message in email_messages:
                if "refuse" in message.subject:
                    raise smtplib.SMTPRecipientsRefused({})
                type(self).delivered.append(message.subject)
        finally:
            if created:
                self.close()
        return len(email_messages)


@pytest.mark.django_db
def test_a_batch_is_sent_over_one_connection_and_a_failure_opens_a_fresh_one(
    rep: User, settings: Any, enqueued: list[list[int]]
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened, CountingBackend.delivered = 0, []
    subjects = ["one", "two", "refuse three", "four", "five"]
    created = [
        notify(
            user=rep,
            kind="reminder",
            key=subject,
            title=subject,
            email=RenderedEmail(subject=subject, text=subject),
        )
        for subject in subjects
    ]
    dispatch_emails()

    assert notifications.send_emails([n.pk for n in created]) == 4
    assert CountingBackend.delivered == ["one", "two", "four", "five"]
    assert CountingBackend.opened == 2  # the batch's, and a fresh one after the failure
    assert reload(created[2]).email_state == Email.PENDING


@pytest.mark.django_db
def test_a_failed_send_is_retried_with_backoff_then_marked_failed(
    rep: User,
    settings: Any,
    file_mailbox: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Callable[[datetime], None],
    enqueued: list[list[int]],
) -> None:
    monkeypatch.setenv("MAILBOX_FAIL", "always")
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_SECONDS = 60
    start = timezone.now()
    email = outbox_email(rep, at=start)

    due = start
    for attempt, backoff in [(1, 60), (2, 120)]:
        assert dispatch_emails(at=due - timedelta(seconds=1)) == []  # backing off
        assert dispatch_emails(at=due) == [email.pk]
        clock(due)
        assert notifications.send_email(email.pk) is False
        email = reload(email)
        assert email.email_state == Email.PENDING
        assert email.email_attempts == attempt
        assert email.email_due_at == due + timedelta(seconds=backoff)
        assert (
            email.email_error
            == f"SMTPServerDisconnected: Connection unexpectedly closed ({attempt})"
        )
        due = email.email_due_at

    assert dispatch_emails(at=due) == [email.pk]
    notifications.send_email(email.pk)
    email = reload(email)
    assert email.email_state == Email.FAILED
    assert email.email_attempts == 3
    assert email.email_due_at is None
    assert email.email_error == "SMTPServerDisconnected: Connection unexpectedly closed (3)"
    assert dispatch_emails(at=due + timedelta(days=1)) == []  # failed for good
    assert mailbox.count(file_mailbox) == 0
    assert mailbox.attempts(file_mailbox) == 3


@pytest.mark.django_db
def test_a_send_that_fails_once_is_delivered_once_on_retry(
    rep: User, file_mailbox: Path, monkeypatch: pytest.MonkeyPatch, enqueued: list[list[int]]
) -> None:
    monkeypatch.setenv("MAILBOX_FAIL", "1")
    email = outbox_email(rep)
    dispatch_emails()
    notifications.send_email(email.pk)
    assert reload(email).email_error.startswith("SMTPServerDisconnected")

    dispatch_emails(at=timezone.now() + timedelta(hours=1))
    assert notifications.send_email(email.pk) is True
    email = reload(email)
    assert (email.email_state, email.email_attempts, email.email_error) == (Email.SENT, 2, "")
    assert mailbox.by_notification(file_mailbox) == {email.pk: 1}
    [delivered] = mailbox.messages(file_mailbox)
    assert delivered["To"] == rep.email


@pytest.mark.django_db
def test_an_email_to_a_deactivated_user_fails_with_a_message(
    rep: User, enqueued: list[list[int]]
) -> None:
    email = outbox_email(rep)
    dispatch_emails()
    User.objects.filter(pk=rep.pk).update(is_active=False)
    assert notifications.send_email(email.pk) is False
    email = reload(email)
    assert email.email_state == Email.FAILED
    assert email.email_error == "The recipient is deactivated."
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_claim_disjoint_sets(rep: User, enqueued: list[list[int]]) -> None:
    at = timezone.now()
    notifications.notify_many(
        [
            build_notification(
                user=rep, kind="reminder", key=f"k{i}", title="T", email=EMAIL, at=at
            )
            for i in range(200)
        ]
    )
    everything = set(Notification.objects.values_list("pk", flat=True))
    both_claimed = threading.Barrier(2, timeout=20)
    claims: list[list[int]] = []
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            # Each holds its claim (its row locks) until the other has claimed too: with a
            # plain FOR UPDATE the second would wait for the first and the barrier would break.
            with transaction.atomic():
                claims.append(dispatch_emails(at=at, limit=150))
                both_claimed.wait()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    first, second = (set(claim) for claim in claims)
    assert first.isdisjoint(second)
    assert first | second == everything
    assert sorted(len(claim) for claim in claims) == [50, 150]
    assert sorted(pk for batch in enqueued for pk in batch) == sorted(everything)


class HeldBackend(BaseEmailBackend):
    """An SMTP server that keeps the sender waiting until the test lets it go."""

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.entered, self.release = entered, release

    def send_messages(self, email_messages: Any) -> int:
        self.entered.set()
        assert self.release.wait(timeout=20)
        return len(email_messages)


@pytest.mark.django_db(transaction=True)
def test_a_worker_sending_to_a_user_does_not_hold_up_other_emails_to_that_user(
    rep: User, enqueued: list[list[int]]
) -> None:
    first, second = outbox_email(rep, key="first"), outbox_email(rep, key="second")
    dispatch_emails()
    entered, release = threading.Event(), threading.Event()
    results: list[bool] = []

    def slow_worker() -> None:
        try:
            backend = HeldBackend(entered, release)
            results.append(notifications.send_email(first.pk, connection=backend))
        finally:
            connection.close()

    thread = threading.Thread(target=slow_worker)
    thread.start()
    try:
        assert entered.wait(timeout=20)
        # The first email's row is locked while it is being sent; the user's row is not.
        assert notifications.send_email(second.pk) is True
        assert notifications.send_email(first.pk) is False  # that one is the other's
    finally:
        release.set()
        thread.join()
    assert results == [True]
    assert reload(first).email_state == reload(second).email_state == Email.SENT
    assert len(mail.outbox) == 1  # the held backend is not the outbox


# --- The reminder scan ----------------------------------------------------------------------


@pytest.mark.django_db
def test_each_due_reminder_becomes_one_notification_however_often_the_scan_runs(
    rep: User, enqueued: list[list[int]]
) -> None:
    start = timezone.now()
    lead = make_lead(rep)
    tasks = [
        due_task(rep, due_at=start + timedelta(minutes=30), remind_before=15, lead=lead),
        due_task(rep, due_at=start + timedelta(minutes=40), remind_before=None),  # no reminder
        due_task(rep, due_at=start + timedelta(hours=2)),  # reminded at the due time
    ]
    assert [t.reminder_state for t in tasks] == [
        Reminder.SCHEDULED,
        Reminder.NONE,
        Reminder.SCHEDULED,
    ]
    assert tasks[0].remind_at == start + timedelta(minutes=15)

    assert reminders_dispatch(at=start) == 0
    assert reminders_dispatch(at=start + timedelta(minutes=15)) == 1
    assert reminders_dispatch(at=start + timedelta(minutes=15)) == 0
    assert reminders_dispatch(at=start + timedelta(hours=3)) == 1
    assert reminders_dispatch(at=start + timedelta(hours=3)) == 0

    first = Notification.objects.for_object(tasks[0]).get()
    assert first.user == rep
    assert first.kind == Notification.Kind.REMINDER
    assert first.key == reminder_key(tasks[0])
    assert first.url == tasks[0].get_absolute_url()
    assert first.email_state == Email.PENDING
    assert first.email_due_at == start + timedelta(minutes=15)
    assert lead.get_absolute_url() in first.email_text
    assert lead.get_absolute_url() in first.email_html
    assert tasks[0].get_absolute_url() in first.email_text
    assert Notification.objects.for_object(tasks[1]).count() == 0
    assert Notification.objects.for_object(tasks[2]).count() == 1
    states = dict(Task.objects.values_list("pk", "reminder_state"))
    assert [states[t.pk] for t in tasks] == [Reminder.SENT, Reminder.NONE, Reminder.SENT]


@pytest.mark.django_db
def test_a_scan_that_finds_a_reminder_already_notified_adds_nothing(
    rep: User, enqueued: list[list[int]]
) -> None:
    task = due_task(rep)
    assert reminders_dispatch() == 1
    # As if the state had not been saved (a second scan reading before the first committed):
    # the notification's unique key still makes it one.
    Task.objects.filter(pk=task.pk).update(reminder_state=Reminder.SCHEDULED)
    assert reminders_dispatch() == 1
    assert Notification.objects.for_object(task).count() == 1


@pytest.mark.django_db
def test_a_scan_takes_at_most_its_limit(rep: User, enqueued: list[list[int]]) -> None:
    for _ in range(3):
        due_task(rep)
    assert reminders_dispatch(limit=2) == 2
    assert reminders_dispatch(limit=2) == 1
    assert Notification.objects.count() == 3


@pytest.mark.django_db
def test_a_task_done_before_its_reminder_is_not_reminded(
    rep: User, enqueued: list[list[int]]
) -> None:
    task = due_task(rep, due_at=timezone.now() + timedelta(hours=1))
    task = followups.task_complete(task=task, actor=rep)
    assert task.reminder_state == Reminder.CANCELED
    assert reminders_dispatch(at=timezone.now() + timedelta(hours=2)) == 0
    assert Notification.objects.for_object(task).count() == 0


@pytest.mark.django_db
def test_a_rescheduled_task_is_reminded_again_under_a_new_key(
    rep: User, enqueued: list[list[int]]
) -> None:
    start = timezone.now()
    task = due_task(rep, due_at=start + timedelta(minutes=10))
    assert reminders_dispatch(at=start + timedelta(minutes=10)) == 1

    task = followups.task_reschedule(task=task, actor=rep, due_at=start + timedelta(days=1))
    assert task.reminder_state == Reminder.SCHEDULED
    assert reminders_dispatch(at=start + timedelta(hours=1)) == 0
    assert reminders_dispatch(at=start + timedelta(days=1)) == 1

    keys = list(Notification.objects.for_object(task).order_by("id").values_list("key", flat=True))
    assert len(keys) == 2
    assert keys[0] != keys[1]
    assert keys[1] == reminder_key(task)


@pytest.mark.django_db
def test_the_reminder_email_shows_the_due_time_in_the_assignees_timezone(
    team: Any, enqueued: list[list[int]]
) -> None:
    paris = make_user(email="paris@example.com", timezone="Europe/Paris")
    utc = make_user(email="utc@example.com", timezone="UTC")
    due = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday; 10:00 in Paris
    for user in (paris, utc):
        due_task(user, due_at=due, title="Demo for Acme", kind=Task.Kind.MEETING)
    assert reminders_dispatch(at=due) == 2

    in_paris = Notification.objects.get(user=paris)
    in_utc = Notification.objects.get(user=utc)
    assert in_paris.email_subject == "Reminder: Demo for Acme — due Mon 7 Jan, 10:00"
    assert in_utc.email_subject == "Reminder: Demo for Acme — due Mon 7 Jan, 09:00"
    assert "Due: Monday 7 January 2030, 10:00 (Europe/Paris)" in in_paris.email_text
    assert "Due: Monday 7 January 2030, 09:00 (UTC)" in in_utc.email_text
    assert "Monday 7 January 2030, 10:00 (Europe/Paris)" in in_paris.email_html
    assert in_paris.title == in_paris.email_subject
