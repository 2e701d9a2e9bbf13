"""Run the whole CRM in the foreground: web server, Celery worker and Celery beat.

This process is the supervisor and, on the zero-setup path (no ``DATABASE_URL``), the one
owner of the embedded PostgreSQL: it starts it, hands its URL to the three processes as
``DATABASE_URL`` (so neither they nor the dev server's autoreloader child ever start or
stop a server) and stops it once they have exited.

Each process runs in a process group of its own, so a Ctrl-C in the terminal reaches only
this supervisor, which then asks each one once, the way it stops best: the dev server
(autoreloader and its child) gets SIGINT, the worker SIGTERM (Celery's warm shutdown:
running tasks finish, nothing new is taken), beat SIGTERM. Whatever is still running after
the grace period, or after a second Ctrl-C, is killed. On Linux the three also get SIGTERM
if this supervisor dies without stopping them (``kill -9``), so nothing is left behind.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from crm import localdb

PR_SET_PDEATHSIG = 1
# How long the worker may take to finish its running tasks before it is killed (Celery's
# tasks here take seconds; a killed worker loses nothing, its messages are acked late).
GRACE_SECONDS = 30.0
# After the three have exited, how long their database sessions may take to close before
# the embedded server counts the rest as someone else's (a shell, a test run).
SESSIONS_CLOSE_SECONDS = 5.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals
    whole_group: bool  # send stop_signal to the process group, not only the process

    def send(self, signum: int) -> None:
        try:
            if self.whole_group or signum == signal.SIGKILL:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)
        except ProcessLookupError:
            pass


def parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send SIGTERM to the child when this process
    dies (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_parent_death_signal


def live_members(group: int) -> list[int]:
    """The pids of process group ``group`` that are alive (not zombies)."""
    import psutil

    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


class Command(BaseCommand):
    help = "Migrate, seed the demo team, then run web + worker + beat until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT") or "8000")
        parser.add_argument("--password", default=None, help="Password for the demo logins.")
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not create or refresh the demo data."
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=GRACE_SECONDS,
            help="Seconds the processes get to stop after Ctrl-C before they are killed.",
        )
        # Internal: migrations and the demo data, run by the supervisor as a child.
        parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)

    def handle(
        self,
        *args: Any,
        port: str,
        password: str | None,
        no_seed: bool,
        grace: float,
        prepare_only: bool,
        **options: Any,
    ) -> None:
        if prepare_only:
            call_command("migrate", interactive=False, verbosity=1)
            call_command("createcachetable")
            if not no_seed:
                call_command("seed_demo", *(["--password", password] if password else []))
            return
        owns_database = not os.environ.get("DATABASE_URL")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("SITE_URL", f"http://localhost:{port}")  # links in emails
        returncode = 1
        try:
            if owns_database:
                env["DATABASE_URL"] = localdb.ensure()
            # Migrations and the demo data in a process of their own, so this one never
            # holds a database session (seed_demo's Celery messages would leave it a broker
            # connection pool): at the end, every session still open is someone else's.
            prepare = [sys.executable, str(settings.BASE_DIR / "manage.py"), "run_local"]
            prepare += ["--prepare-only", *(["--no-seed"] if no_seed else [])]
            prepare += ["--password", password] if password else []
            returncode = subprocess.run(prepare, env=env, check=False).returncode  # noqa: S603
            if returncode == 0:
                returncode = self.supervise(port, env, grace)
        except KeyboardInterrupt:  # Ctrl-C before the three were started
            returncode = 130
        finally:
            if owns_database:
                self.stop_database()
        sys.exit(returncode)

    # --- The three processes ----------------------------------------------------------

    def supervise(self, port: str, env: dict[str, str], grace: float) -> int:
        python = sys.executable
        queues = ",".join(settings.CELERY_QUEUE_NAMES)
        schedule = localdb.LOCAL_DIR / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOpen http://127.0.0.1:{port}/  (broker: {broker}; Ctrl-C stops everything)\n"
            )
        )

        requests: list[int] = []  # signals received, in order
        wake = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            requests.append(signum)
            wake.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, on_signal)

        # Started before any output thread exists: preexec_fn runs between fork and exec.
        celery = [python, "-m", "celery", "-A", "crm"]
        specs = [
            ("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}"], signal.SIGINT, True),
            (
                "worker",
                [*celery, "worker", "-l", "INFO", "-Q", queues, "--concurrency", "2"],
                signal.SIGTERM,
                False,
            ),
            ("beat", [*celery, "beat", "-l", "INFO", "-s", str(schedule)], signal.SIGTERM, False),
        ]
        children = [
            Child(
                name,
                subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    command,
                    env=env,
                    cwd=settings.BASE_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                    preexec_fn=parent_death_signal(),
                ),
                stop_signal,
                whole_group,
            )
            for name, command, stop_signal, whole_group in specs
        ]
        width = max(len("system"), *(len(child.name) for child in children))
        output_lock = threading.Lock()
        readers = [
            threading.Thread(target=self.relay, args=(child, width, output_lock), daemon=True)
            for child in children
        ]
        for reader in readers:
            reader.start()
        for child in children:
            self.say(f"{child.name} started (pid {child.process.pid})", width, output_lock)

        failed = False
        killed = False
        deadline: float | None = None
        while True:
            running = [child for child in children if child.process.poll() is None]
            if not running:
                break
            if deadline is None:
                exited = [child for child in children if child.process.poll() is not None]
                if requests or exited:
                    if exited:
                        failed = True
                        first = exited[0]
                        reason = f"{first.name} exited (rc={first.process.returncode})"
                    else:
                        reason = f"{signal.Signals(requests[0]).name} received"
                    self.say(
                        f"{reason}: stopping the others (up to {grace:g} s for the worker to "
                        "finish its tasks; Ctrl-C again to kill them now)",
                        width,
                        output_lock,
                    )
                    for child in running:
                        child.send(child.stop_signal)
                    deadline = time.monotonic() + grace
                    del requests[:]
            elif requests or time.monotonic() > deadline:
                for child in running:
                    self.say(f"killing {child.name} (pid {child.process.pid})", width, output_lock)
                    child.send(signal.SIGKILL)
                killed = True
                del requests[:]
            wake.wait(0.1)
            wake.clear()

        for child in children:
            self.say(f"{child.name} stopped (rc={child.process.returncode})", width, output_lock)
            # What a process leaves in its group when it dies first (the dev server's
            # autoreloader child, a worker's pool processes) goes with it.
            if live_members(child.process.pid):
                child.send(signal.SIGKILL)
                self.say(f"killed what {child.name} left running", width, output_lock)
                killed = True
        for reader in readers:
            reader.join(timeout=2)
        return 1 if failed or killed else 0

    def relay(self, child: Child, width: int, lock: threading.Lock) -> None:
        stream: IO[bytes] | None = child.process.stdout
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            self.say(raw.decode(errors="replace").rstrip("\n"), width, lock, child.name)
        stream.close()

    def say(self, line: str, width: int, lock: threading.Lock, name: str = "system") -> None:
        with lock:
            self.stdout.write(f"{name:<{width}} | {line}")
            self.stdout.flush()

    # --- The embedded PostgreSQL ------------------------------------------------------

    def stop_database(self) -> None:
        connections.close_all()
        deadline = time.monotonic() + SESSIONS_CLOSE_SECONDS
        others = localdb.other_sessions()
        while others and time.monotonic() < deadline:
            time.sleep(0.2)
            others = localdb.other_sessions()
        if others:
            self.stdout.write(
                f"The embedded PostgreSQL is left running: {others} other session(s) use it "
                "(a shell, a test run?). `make stop-db` stops it."
            )
            return
        if localdb.stop():
            self.stdout.write("The embedded PostgreSQL stopped.")
