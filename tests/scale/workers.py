"""Real Celery worker subprocesses for the scale tests, each with its own log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from django.conf import settings

from crm.celery import app
from crm.workers import worker_command, worker_environment


def wait_for(condition: Callable[[], bool], *, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def purge_broker() -> None:
    """Start from empty queues: a message left by an earlier test must not reach this one."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in settings.CELERY_QUEUE_NAMES:
            with contextlib.suppress(Exception):  # a queue never declared is empty already
                channel.queue_purge(queue)


def queue_size(name: str) -> int:
    with app.connection_for_write() as connection:
        return int(connection.default_channel.queue_declare(queue=name, passive=True)[1])


class Worker:
    """One worker process, stopped (warm shutdown) by ``stop``."""

    def __init__(
        self, log: Path, *, name: str, queues: Sequence[str] | None = None, **env: str
    ) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                worker_command(name=f"{name}-{os.getpid()}", queues=queues),
                env=worker_environment(**env),
                cwd=settings.BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.alive() and b" ready." in log.read_bytes(), what=f"{name} up")

    def alive(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.output()}")
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def consumed_queues(self) -> list[str]:
        """The queues the worker's start-up banner says it consumes (`.> name exchange=…`)."""
        section = self.output().split("[queues]", 1)[1]
        return [line.split()[1] for line in section.splitlines() if line.lstrip().startswith(".>")]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        print(f"--- {self.log.name} ---\n{self.output()}")  # shown when the test failed
