"""How fast do due reminders go out through a real Celery worker, and does each go out
exactly once? ``manage.py benchmark_reminders [--count 10000] [--workers 1]
[--concurrency N] [--timeout 600] [--yes]``

It creates its own user (``benchmark-reminders+<token>@example.invalid``) with ``--count``
tasks whose reminders are due now, starts Celery worker subprocesses on the default and
reminders queues with Django's file email backend writing into a temporary folder, enqueues
the reminder scan (``remind_tasks_due``) as beat would, and waits until every reminder's
email is marked sent. Then it reads the folder back: every reminder must appear there under
its Message-ID exactly once. Whatever it created (user, tasks, notifications, files) is
deleted at the end. Exit status 1 if any email is missing, failed or duplicated.

``--concurrency`` is the worker's pool size: Celery's default (one process per CPU) unless
given; 1 runs the solo pool, one process for everything. Run with ``DEBUG=0`` for
production-like numbers.

The worker it starts sends whatever is due in the database, not only its own emails, and
workers already listening on the broker would take part; so it refuses to run where either
is the case, unless ``--yes``.
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends import filebased
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from crm.celery import app
from crm.followups.models import Task
from crm.followups.tasks import remind_tasks_due
from crm.models import Notification
from crm.workers import worker_command, worker_environment

MAIL_DIR_VARIABLE = "BENCHMARK_REMINDERS_MAIL_DIR"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
MESSAGE_ID = re.compile(rb"^Message-ID: <notification-(\d+)@[^>]*>", re.MULTILINE)
TARGET_SECONDS = 60.0


class FileBackend(filebased.EmailBackend):
    """Django's file backend, its folder read from the environment: the worker subprocess
    runs on the project's settings, which name no ``EMAIL_FILE_PATH``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["file_path"] = os.environ[MAIL_DIR_VARIABLE]
        super().__init__(*args, **kwargs)


@dataclass
class Delivery:
    written: int
    by_notification: Counter[int]


def read_mail(folder: Path) -> Delivery:
    written = 0
    delivered: Counter[int] = Counter()
    for path in folder.glob("*.log"):
        content = path.read_bytes()
        written += content.count(SEPARATOR)
        delivered.update(int(pk) for pk in MESSAGE_ID.findall(content))
    return Delivery(written=written, by_notification=delivered)


class Command(BaseCommand):
    help = "Time a real worker sending N due reminders, and check none is sent twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000, help="reminders (10000)")
        parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=0,
            help="processes per worker; 1 runs the solo pool (default: Celery's, one per CPU)",
        )
        parser.add_argument(
            "--timeout", type=float, default=600, help="give up after this many seconds (600)"
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="run even if other reminders are due or other workers are listening",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        if count < 1 or options["workers"] < 1 or options["concurrency"] < 0:
            raise CommandError("--count and --workers must be at least 1.")
        if not options["yes"]:
            self.check_alone()

        token = secrets.token_hex(4)
        folder = Path(tempfile.mkdtemp(prefix="benchmark-reminders-"))
        mail_dir = folder / "mail"
        mail_dir.mkdir()
        user = user_create(
            email=f"benchmark-reminders+{token}@example.invalid",
            role=Role.REP,
            first_name="Benchmark",
            last_name="Reminders",
            send_invitation=False,
        )
        workers: list[subprocess.Popen[bytes]] = []
        try:
            started = time.monotonic()
            self.create_tasks(user, count)
            self.stdout.write(
                f"Created {count:,} tasks due now in {time.monotonic() - started:.1f} s; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs."
            )
            for number in range(options["workers"]):
                workers.append(
                    self.start_worker(
                        f"benchmark-{token}-{number}", folder, mail_dir, options["concurrency"]
                    )
                )
            ok = self.run(user, count, workers, mail_dir, options)
        finally:
            self.stop(workers)
            self.clean_up(user)
            shutil.rmtree(folder, ignore_errors=True)
        if not ok:
            raise CommandError("Some reminders were not sent exactly once (see above).")

    # --- Steps ----------------------------------------------------------------------------

    def check_alone(self) -> None:
        """Refuse where the benchmark's worker would take real work, or real workers its."""
        soon = timezone.now() + timedelta(minutes=10)
        due_reminders = Task.objects.filter(
            reminder_state=Task.Reminder.SCHEDULED, remind_at__lte=soon
        ).count()
        waiting_emails = Notification.objects.filter(
            email_state__in=[Notification.Email.PENDING, Notification.Email.QUEUED]
        ).count()
        if due_reminders or waiting_emails:
            raise CommandError(
                f"This database has {due_reminders} reminders due within 10 minutes and "
                f"{waiting_emails} emails waiting to be sent: the benchmark's worker would "
                "write them to its file instead of sending them. Run it on a database "
                "without live reminders, or pass --yes."
            )
        try:
            replies = app.control.ping(timeout=1.0)
        except Exception as error:
            self.stderr.write(f"Could not ask for running workers ({error}); going on.")
            return
        if replies:
            names = ", ".join(name for reply in replies for name in reply)
            raise CommandError(
                f"Workers are already listening on this broker ({names}); they would send "
                "the benchmark's emails for real. Stop them, or pass --yes."
            )

    def create_tasks(self, user: User, count: int) -> None:
        due = timezone.now() - timedelta(seconds=1)
        Task.objects.bulk_create(
            (
                Task(
                    title=f"Benchmark reminder {number}",
                    kind=Task.Kind.CALL,
                    due_at=due,
                    assignee=user,
                    remind_before=0,
                    remind_at=due,
                    reminder_state=Task.Reminder.SCHEDULED,
                    created_by=user,
                )
                for number in range(count)
            ),
            batch_size=2000,
        )

    def start_worker(
        self, name: str, folder: Path, mail_dir: Path, concurrency: int
    ) -> subprocess.Popen[bytes]:
        env = worker_environment(
            EMAIL_BACKEND=f"{__name__}.FileBackend", **{MAIL_DIR_VARIABLE: str(mail_dir)}
        )
        pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork"]
        if concurrency > 1:
            pool += ["--concurrency", str(concurrency)]
        log = folder / f"{name}.log"
        with log.open("wb") as output:
            worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                worker_command(name=name, queues=["default", "reminders"], pool=pool),
                env=env,
                cwd=settings.BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker.log = log  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"The worker did not start:\n{log.read_text()}")
            time.sleep(0.1)
        return worker

    def run(
        self,
        user: User,
        count: int,
        workers: list[subprocess.Popen[bytes]],
        mail_dir: Path,
        options: dict[str, Any],
    ) -> bool:
        mine = Notification.objects.filter(user=user, kind=Notification.Kind.REMINDER)
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        deadline = started + options["timeout"]
        remind_tasks_due.delay()
        notified: float | None = None
        reported = started
        # Cheap checks, so that watching does not slow down what is watched: a count until
        # every notification exists, then whether any email is still waiting (a partial index).
        waiting = mine.filter(
            email_state__in=[Notification.Email.PENDING, Notification.Email.QUEUED]
        )
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            if notified is None and mine.count() == count:
                notified = now - started
            if notified is not None and not waiting.exists():
                break
            if now - reported >= 5:
                reported = now
                sent = mine.filter(email_state=Notification.Email.SENT).count()
                self.stdout.write(
                    f"  {now - started:5.1f} s: {mine.count():,} notified, {sent:,} sent"
                )
            dead = [worker for worker in workers if worker.poll() is not None]
            if dead or now > deadline:
                for worker in workers:
                    self.stderr.write(worker.log.read_text()[-5000:])  # type: ignore[attr-defined]
                raise CommandError(
                    "A worker died." if dead else f"Not drained after {options['timeout']} s."
                )
        drained = time.monotonic() - started
        # Stop the workers before reading the files, so that none is half written; their
        # CPU time is known once they have exited.
        self.stop(workers)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
            cpu_before.ru_utime + cpu_before.ru_stime
        )
        return self.report(mine, count, drained, notified, cpu, mail_dir)

    def report(
        self,
        mine: Any,
        count: int,
        drained: float,
        notified: float | None,
        cpu: float,
        mail_dir: Path,
    ) -> bool:
        delivery = read_mail(mail_dir)
        reminder_ids = set(mine.values_list("pk", flat=True))
        per_task = mine.values("target_id").annotate(n=Count("id")).filter(n__gt=1).count()
        duplicates = sum(times - 1 for times in delivery.by_notification.values())
        missing = len(reminder_ids - set(delivery.by_notification))
        foreign = len(set(delivery.by_notification) - reminder_ids)
        failed = mine.filter(email_state=Notification.Email.FAILED).count()
        if count == 10_000:
            target = (
                f"{'met' if drained < TARGET_SECONDS else 'NOT met'} (< {TARGET_SECONDS:.0f} s)"
            )
        else:
            target = f"< {TARGET_SECONDS:.0f} s for --count 10000"
        lines = [
            f"Time to drain:     {drained:.1f} s, scan enqueued → last email marked sent; "
            f"target {target}",
            f"  notified after:  {notified:.1f} s (every notification created)"
            if notified is not None
            else "  notified after:  -",
            f"Throughput:        {count / drained:,.0f} emails/s",
            f"Worker CPU time:   {cpu:.1f} s with its start-up ({cpu / count * 1000:.2f} ms "
            "per reminder); "
            f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            f"Emails written:    {delivery.written:,}",
            f"Distinct Message-IDs: {len(delivery.by_notification):,}",
            f"Distinct reminders:   {len(reminder_ids):,} notifications "
            f"({per_task} tasks with more than one)",
            f"duplicates: {duplicates}, missing: {missing}, failed: {failed}"
            + (f", other emails the worker sent: {foreign}" if foreign else ""),
        ]
        self.stdout.write("\n".join(lines))
        return (
            duplicates == 0
            and missing == 0
            and failed == 0
            and per_task == 0
            and len(reminder_ids) == count
        )

    def stop(self, workers: list[subprocess.Popen[bytes]]) -> None:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()

    def clean_up(self, user: User) -> None:
        Notification.objects.filter(user=user).delete()
        Task.objects.filter(assignee=user).delete()
        user.delete()
