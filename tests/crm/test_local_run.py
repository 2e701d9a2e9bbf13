"""The README's `make run` on the zero-setup path: `manage.py run_local` with no
DATABASE_URL and no REDIS_URL (the embedded PostgreSQL, Celery on its SQLAlchemy
transport), started and stopped three times — Ctrl-C, a hard kill of everything but the
database and then of the database too, Ctrl-C again — answering /healthz each time, and
leaving nothing running after a Ctrl-C.

It runs on a data directory of its own (CRM_LOCAL_DIR), never the developer's .local/ nor
the test database of the rest of the suite.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from django.conf import settings

pytestmark = [
    pytest.mark.local_run,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="relies on Linux's parent-death signal and /proc",
    ),
]

START_SECONDS = 90
GRACE = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_postgres(process: psutil.Process) -> bool:
    try:
        return process.name().startswith("postgres")
    except psutil.Error:
        return False


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Stack:
    """One `manage.py run_local` in a session of its own, as a terminal would run it."""

    def __init__(self, local_dir: Path, log: Path) -> None:
        self.local_dir = local_dir
        self.log = log
        self.port = free_port()
        self.env = {
            name: value
            for name, value in os.environ.items()
            if name
            not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        }
        self.env["CRM_LOCAL_DIR"] = str(local_dir)
        self.options = ["--port", str(self.port), "--grace", str(GRACE)]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.write_text("")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_local", "--no-seed", *self.options],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"run_local exited:\n{self.output()}"
            if self.healthy() and self.ready():
                return
            time.sleep(0.5)
        pytest.fail(f"not up within {START_SECONDS} s:\n{self.output()}")

    def healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            body = response.read()
        except OSError:
            return False
        finally:
            connection.close()
        if response.status != 200:
            return False
        assert json.loads(body)["checks"] == {"database": "ok", "broker": "ok", "cache": "ok"}
        return True

    def ready(self) -> bool:
        """The worker consumes and beat schedules, so a stop really stops them."""
        lines = self.output().splitlines()
        worker = any(line.startswith("worker") and line.endswith(" ready.") for line in lines)
        beat = any(line.startswith("beat") and "beat: Starting" in line for line in lines)
        return worker and beat

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def interrupt(self) -> tuple[int, float]:
        """Ctrl-C: SIGINT to the terminal's process group. Returns the exit code and how
        long everything took to stop."""
        assert self.process is not None
        began = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        returncode = self.process.wait(timeout=GRACE + 30)
        return returncode, time.monotonic() - began

    def kill(self) -> None:
        """kill -9 of the whole process group."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def processes(self) -> list[psutil.Process]:
        """Every process started for this stack: they all carry its CRM_LOCAL_DIR."""
        found = []
        for process in psutil.process_iter():
            try:
                if process.environ().get("CRM_LOCAL_DIR") == str(self.local_dir):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def describe(self, processes: list[psutil.Process]) -> list[str]:
        described = []
        for process in processes:
            try:
                described.append(f"{process.pid} {' '.join(process.cmdline())}")
            except psutil.Error:
                continue
        return described

    def wait_for_no_processes(self, *, but_postgres: bool = False, seconds: float = 30) -> None:
        left: list[psutil.Process] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            left = [
                process
                for process in self.processes()
                if not (but_postgres and is_postgres(process))
            ]
            if not left:
                return
            time.sleep(0.2)
        pytest.fail(f"still running: {self.describe(left)}\n{self.output()}")

    def assert_stopped(self, returncode: int, seconds: float) -> None:
        output = self.output()
        assert returncode == 0, output  # 0: every process stopped when asked, none was killed
        assert "worker: Warm shutdown" in output
        for name in ("web", "worker", "beat"):
            assert f"{name} stopped (rc=0)" in output
        assert "The embedded PostgreSQL stopped." in output
        assert not (self.local_dir / "pgdata" / "postmaster.pid").exists()
        assert seconds < GRACE, output
        # Nothing of the stack is left: no web, worker, beat, nor the embedded server.
        self.wait_for_no_processes(seconds=5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # Short and world-traversable: the server's socket lives in it, and as root the server
    # runs as its own user.
    local_dir = Path(tempfile.mkdtemp(prefix="crm-local-run-"))
    stack = Stack(local_dir, tmp_path / "run_local.log")
    try:
        yield stack
    finally:
        for process in stack.processes():
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        shutil.rmtree(local_dir, ignore_errors=True)


def test_make_run_starts_and_stops_everything_and_recovers_from_a_hard_kill(
    stack: Stack,
) -> None:
    # A fresh machine: initdb, migrations, then Ctrl-C.
    stack.start()
    stack.assert_stopped(*stack.interrupt())

    # A hard kill of the supervisor's process group: web, worker and beat follow it; the
    # server (in a session of its own) is then killed too, and what the package used to
    # leave behind is put back: an empty handle list, and a postmaster.pid whose pid now
    # belongs to another live process.
    stack.start()
    stack.kill()
    stack.wait_for_no_processes(but_postgres=True)
    pgdata = stack.local_dir / "pgdata"
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    postmaster.kill()
    deadline = time.monotonic() + 10
    while not gone(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    (pgdata / ".handle_pids.json").write_text("")
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    (pgdata / "postmaster.pid").write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    # The next start recovers by itself.
    stack.start()
    stack.assert_stopped(*stack.interrupt())


def test_a_data_directory_whose_initdb_was_killed_is_made_again() -> None:
    local_dir = Path(tempfile.mkdtemp(prefix="crm-local-run-"))
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env["CRM_LOCAL_DIR"] = str(local_dir)
    localdb = [sys.executable, "-m", "crm.localdb"]
    try:
        # What a kill during the first initdb leaves: the marker, and a data directory
        # that has its PG_VERSION but no cluster.
        (local_dir / "pgdata").mkdir()
        (local_dir / "pgdata" / "PG_VERSION").write_text("18\n")
        (local_dir / "pgdata.initializing").touch()
        ensure = subprocess.run(
            [*localdb, "ensure"], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
        )
        assert ensure.returncode == 0, ensure.stderr
        assert ensure.stdout.strip().endswith("/crm")
        assert not (local_dir / "pgdata.initializing").exists()
        status = subprocess.run([*localdb, "status"], env=env, cwd=settings.BASE_DIR)
        assert status.returncode == 0
    finally:
        subprocess.run([*localdb, "stop"], env=env, cwd=settings.BASE_DIR, check=False)
        shutil.rmtree(local_dir, ignore_errors=True)
