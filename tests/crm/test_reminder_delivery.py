"""Reminders through real Celery workers, the configured broker (Redis in CI) and a mailbox
on disk: each reminder is emailed exactly once — when all goes well, when a worker is killed
in the middle of a batch, when two workers and two "beats" race, and when SMTP keeps failing
(retried, then failed, with nothing delivered).

Workers are subprocesses in their own process group (``os.killpg`` reaches the whole
worker), reading ``crm.settings.test`` with ``TEST_EMAIL_BACKEND=tests.mailbox.FileMailbox``.
The outbox's sweeper is driven from the test with an injected time (``dispatch_emails(at=…)``)
rather than by waiting for a claim or a backoff to run out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from crm.celery import app
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.tasks import remind_tasks_due
from crm.models import Notification
from crm.notifications import dispatch_emails
from crm.tasks import remind_dispatch_emails, remind_send_emails
from crm.workers import worker_command, worker_environment
from tests import mailbox
from tests.factories import make_lead

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

Email = Notification.Email
CLAIM = timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            states = dict(reminders().values_list("email_state").annotate(n=Count("id")).order_by())
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; emails: {states}")
        time.sleep(0.1)


def purge_broker() -> None:
    """Start from empty queues: a message left by an earlier run must not reach this one."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in settings.CELERY_QUEUE_NAMES:
            # A queue that was never declared is empty already.
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)
        if hasattr(channel, "unacked_key"):
            # Redis keeps a killed worker's unacknowledged messages aside and puts them back
            # after the visibility timeout, possibly in a later test run.
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


class Workers:
    """Celery workers started for one test, all stopped at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.mailbox = tmp_path / "mailbox"
        self.mailbox.mkdir()
        self.marker = tmp_path / "mailbox.marker"
        self.processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        self.killed: set[str] = set()

    def start(self, name: str, **environment: str) -> subprocess.Popen[bytes]:
        env = worker_environment(
            TEST_EMAIL_BACKEND="tests.mailbox.FileMailbox",
            MAILBOX_DIR=str(self.mailbox),
            MAILBOX_MARKER=str(self.marker),
            **environment,
        )
        log = self.tmp_path / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                worker_command(name=f"{name}-{os.getpid()}"),
                env=env,
                cwd=settings.BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for killpg
            )
        self.processes[name] = (process, log)
        wait_for(lambda: self.alive(name) and b" ready." in log.read_bytes(), what=f"{name} up")
        return process

    def alive(self, name: str) -> bool:
        process, log = self.processes[name]
        if process.poll() is not None:
            pytest.fail(f"worker {name} exited with {process.returncode}:\n{log.read_text()}")
        return True

    def all_alive(self) -> bool:
        return all(self.alive(name) for name in self.processes if name not in self.killed)

    def kill(self, name: str) -> None:
        """What a crash or the OOM killer does: no warm shutdown, no message given back."""
        process, _ = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.killed.add(name)

    def finished(self, task_id: str) -> bool:
        """Whether a worker has logged the task with this id as done."""
        needle = f"[{task_id}] succeeded".encode()
        return any(needle in log.read_bytes() for _, log in self.processes.values())

    def stop_all(self) -> None:
        for process, _ in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for name, (_, log) in self.processes.items():
            print(f"--- worker {name} ---\n{log.read_text()}")  # shown when the test failed


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path) -> Iterator[Workers]:
    purge_broker()
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
        purge_broker()


def due_tasks(assignee: User, count: int, **fields: Any) -> list[Task]:
    due = timezone.now() - timedelta(minutes=1)
    return [
        followups.task_create(actor=assignee, title=f"Call back #{i}", due_at=due, **fields)
        for i in range(count)
    ]


def reminders() -> Any:
    return Notification.objects.filter(kind=Notification.Kind.REMINDER)


def sent_count() -> int:
    return reminders().filter(email_state=Email.SENT).count()


def assert_each_delivered_once(workers: Workers, count: int) -> None:
    ids = set(reminders().values_list("pk", flat=True))
    assert len(ids) == count
    delivered = mailbox.by_notification(workers.mailbox)
    assert set(delivered) == ids
    assert [pk for pk, times in delivered.items() if times != 1] == []
    assert mailbox.count(workers.mailbox) == count
    assert reminders().exclude(email_state=Email.SENT).count() == 0
    assert Task.objects.exclude(reminder_state=Task.Reminder.SENT).count() == 0


def test_a_due_reminder_is_emailed_and_notified_once(workers: Workers, rep: User) -> None:
    workers.start("one")
    lead = make_lead(rep, first_name="Grace", last_name="Hopper")
    [task] = due_tasks(rep, 1, lead=lead, kind=Task.Kind.CALL)

    remind_tasks_due.delay()
    wait_for(lambda: workers.all_alive() and sent_count() == 1, what="the reminder email")

    # Beat fires again, and the sweeper runs: both find nothing left to do.
    again = [remind_tasks_due.delay().id, remind_dispatch_emails.delay().id]
    wait_for(lambda: all(workers.finished(task_id) for task_id in again), what="the rescans")

    assert_each_delivered_once(workers, 1)
    notification = Notification.objects.for_object(task).get()
    assert notification.user == rep
    assert notification.read_at is None  # under the bell, unread
    assert notification.email_attempts == 1
    [message] = mailbox.messages(workers.mailbox)
    assert message["To"] == rep.email
    assert str(message["Subject"]).strip().startswith("Reminder: Call back #0 — due ")
    assert message.is_multipart()
    assert [part.get_content_type() for part in message.walk()][1:] == [
        "text/plain",
        "text/html",
    ]
    assert lead.get_absolute_url() in message.get_body(("plain",)).get_content()
    assert lead.get_absolute_url() in message.get_body(("html",)).get_content()
    task.refresh_from_db()
    assert task.reminder_state == Task.Reminder.SENT


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(workers: Workers, rep: User) -> None:
    # The 30th send hangs (after the marker is written), so the kill lands inside it.
    workers.start("doomed", MAILBOX_DELAY="0.01", MAILBOX_MARK_AT="30", MAILBOX_MARK_HANG="60")
    due_tasks(rep, 100)

    remind_tasks_due.delay()
    wait_for(lambda: workers.all_alive() and workers.marker.exists(), what="the 30th send")
    workers.kill("doomed")

    assert mailbox.count(workers.mailbox) == 29
    assert sent_count() == 29
    assert reminders().filter(email_state=Email.QUEUED).count() == 71

    workers.start("restarted")
    # The killed batch's message is gone with its worker; its rows are still claimed. The
    # sweeper offers them again once the claim has run out (an injected time, not a wait).
    last_sweep = 0.0

    def drained() -> bool:
        nonlocal last_sweep
        workers.all_alive()
        if sent_count() == 100:
            return True
        if time.monotonic() - last_sweep > 3:
            dispatch_emails(at=timezone.now() + CLAIM + timedelta(seconds=1))
            last_sweep = time.monotonic()
        return False

    wait_for(drained, what="every reminder sent after the restart")
    assert_each_delivered_once(workers, 100)
    assert mailbox.attempts(workers.mailbox) == 101  # the one in flight when killed


def test_two_workers_and_two_beats_send_each_reminder_once(workers: Workers, rep: User) -> None:
    for name in ("left", "right"):
        workers.start(name, MAILBOX_DELAY="0.005")
    due_tasks(rep, 200)

    # Two beats fire the same scans at the same moment.
    for _ in range(2):
        remind_tasks_due.delay()
        remind_dispatch_emails.delay()
    wait_for(lambda: workers.all_alive() and reminders().count() == 200, what="the scan")
    # And every email's message comes twice more, in opposite orders, as after a redelivery:
    # the workers race for the same rows.
    ids = list(reminders().order_by("pk").values_list("pk", flat=True))
    remind_send_emails.delay(ids)
    remind_send_emails.delay(ids[::-1])
    sweeps = [
        threading.Thread(
            target=dispatch_emails, kwargs={"at": timezone.now() + CLAIM + timedelta(seconds=1)}
        )
        for _ in range(2)
    ]
    for sweep in sweeps:
        sweep.start()
    for sweep in sweeps:
        sweep.join()

    wait_for(lambda: workers.all_alive() and sent_count() == 200, what="all 200 sent")
    assert_each_delivered_once(workers, 200)
    assert mailbox.attempts(workers.mailbox) == 200  # no second attempt at any email


def test_an_email_smtp_refuses_is_retried_with_backoff_then_failed(
    workers: Workers, rep: User
) -> None:
    workers.start("refused", MAILBOX_FAIL="always", NOTIFICATION_MAX_ATTEMPTS="3")
    [task] = due_tasks(rep, 1)

    def notification() -> Notification:
        return Notification.objects.for_object(task).get()

    def attempted(times: int) -> Callable[[], bool]:
        attempts = Notification.objects.for_object(task).filter(email_attempts=times)
        return lambda: workers.all_alive() and attempts.exists()

    remind_tasks_due.delay()
    for attempt, backoff in [(1, 60), (2, 120)]:
        wait_for(attempted(attempt), what=f"attempt {attempt}")
        failed_once = notification()
        assert failed_once.email_state == Email.PENDING
        assert failed_once.email_error.startswith("SMTPServerDisconnected: Connection")
        retry_at = failed_once.email_due_at
        assert retry_at is not None
        assert (
            timedelta(seconds=backoff - 15)
            < retry_at - timezone.now()
            <= timedelta(seconds=backoff)
        )
        assert dispatch_emails(at=retry_at - timedelta(seconds=1)) == []
        assert dispatch_emails(at=retry_at) == [failed_once.pk]

    wait_for(
        lambda: workers.all_alive() and notification().email_state == Email.FAILED,
        what="the email marked failed",
    )
    failed = notification()
    assert failed.email_attempts == 3
    assert failed.email_due_at is None
    assert failed.email_error == "SMTPServerDisconnected: Connection unexpectedly closed (3)"
    assert dispatch_emails(at=timezone.now() + timedelta(days=1)) == []
    assert mailbox.count(workers.mailbox) == 0
    assert mailbox.attempts(workers.mailbox) == 3
    task.refresh_from_db()
    assert task.reminder_state == Task.Reminder.SENT  # the bell still has it


# --- The claim heartbeat: real time, no injected clock -------------------------------------


def delivered_at(workers: Workers) -> list[float]:
    """When each message reached the mailbox (its file name starts with ``time_ns``)."""
    return sorted(int(path.name.split("-")[0]) / 1e9 for path in workers.mailbox.glob("*.eml"))


def test_a_killed_workers_emails_go_out_well_within_a_minute(workers: Workers, rep: User) -> None:
    """The default claim and heartbeat, and the sweeper run as often as beat runs it: the
    emails a worker held when it was killed go out again within the claim plus a sweep."""
    workers.start("doomed", MAILBOX_DELAY="0.01", MAILBOX_MARK_AT="30", MAILBOX_MARK_HANG="120")
    due_tasks(rep, 100)
    remind_tasks_due.delay()
    wait_for(lambda: workers.all_alive() and workers.marker.exists(), what="the 30th send")
    workers.kill("doomed")
    killed_at = time.time()
    assert sent_count() == 29

    workers.start("restarted")
    sweep_every = settings.CELERY_BEAT_SCHEDULE["email-outbox"]["schedule"]
    last_sweep = time.monotonic()

    def drained() -> bool:
        nonlocal last_sweep
        workers.all_alive()
        if time.monotonic() - last_sweep >= sweep_every:  # what beat does
            remind_dispatch_emails.delay()
            last_sweep = time.monotonic()
        return sent_count() == 100

    wait_for(drained, timeout=90, what="the killed worker's emails sent again")
    assert_each_delivered_once(workers, 100)
    assert mailbox.attempts(workers.mailbox) == 101
    late = [moment - killed_at for moment in delivered_at(workers) if moment > killed_at]
    assert len(late) == 71
    print(f"71 emails late by {min(late):.1f}–{max(late):.1f} s after the kill")
    bound = settings.NOTIFICATION_CLAIM_SECONDS + sweep_every + 10
    assert max(late) < min(bound, 45)


def test_a_long_batch_keeps_its_claim_while_its_worker_sends(
    workers: Workers, rep: User, settings: Any
) -> None:
    """A batch that takes nearly three claims to send (a slow SMTP server) is never
    offered again by the sweeper while its worker is alive, so nobody else takes it."""
    workers.start(
        "slow",
        MAILBOX_DELAY="0.2",
        NOTIFICATION_CLAIM_SECONDS="3",
        NOTIFICATION_HEARTBEAT_SECONDS="0.5",
    )
    # After the start: an overridden settings object has no SETTINGS_MODULE for the worker.
    settings.NOTIFICATION_CLAIM_SECONDS = 3
    due_tasks(rep, 40)  # one batch
    remind_tasks_due.delay()
    wait_for(lambda: workers.all_alive() and sent_count() > 0, what="the first send")
    started = time.monotonic()
    reclaimed: list[int] = []

    def sweeping() -> bool:
        workers.all_alive()
        reclaimed.extend(dispatch_emails())  # the sweeper, at the real time
        return sent_count() == 40

    wait_for(sweeping, timeout=60, what="the slow batch sent")
    assert time.monotonic() - started > 2 * settings.NOTIFICATION_CLAIM_SECONDS
    assert reclaimed == []
    assert_each_delivered_once(workers, 40)
    assert mailbox.attempts(workers.mailbox) == 40
