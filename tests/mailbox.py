"""A mailbox on disk that a Celery worker subprocess can deliver into and a test can read.

``EMAIL_BACKEND = "tests.mailbox.FileMailbox"`` (``TEST_EMAIL_BACKEND`` for a worker started
with ``crm.settings.test``), configured by the environment so that it works in any process:

- ``MAILBOX_DIR``: where every message is written, one file each (required).
- ``MAILBOX_DELAY``: seconds to wait before writing each message — simulated SMTP latency,
  so that a worker killed while sending is killed before the message exists.
- ``MAILBOX_FAIL``: ``always`` to refuse every message, or a number K to refuse the first K
  attempts (counted across processes), with ``smtplib.SMTPServerDisconnected``.
- ``MAILBOX_MARK_AT``: on the N-th attempt (counted across processes), create the file
  ``MAILBOX_MARKER`` (default ``<MAILBOX_DIR>/../mailbox.marker``) and then hang for
  ``MAILBOX_MARK_HANG`` seconds (default 30) before writing, so a test that waits for the
  marker and kills the worker knows the message in flight was not delivered.

Attempts are numbered with files created exclusively in ``<MAILBOX_DIR>/../attempts``, so
the count survives a killed worker and is shared by two workers. A message is written to a
temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import os
import re
import smtplib
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

NOTIFICATION_MESSAGE_ID = re.compile(r"<notification-(\d+)@")


def _attempt_number(root: Path) -> int:
    """The next attempt number, unique across processes (1, 2, 3, …)."""
    attempts = root / "attempts"
    attempts.mkdir(exist_ok=True)
    number = len(os.listdir(attempts)) + 1
    while True:
        try:
            os.close(os.open(attempts / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            number += 1
        else:
            return number


class FileMailbox(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(os.environ["MAILBOX_DIR"])
        self.directory.mkdir(parents=True, exist_ok=True)
        self.root = self.directory.parent
        self.delay = float(os.environ.get("MAILBOX_DELAY") or 0)
        self.fail = os.environ.get("MAILBOX_FAIL", "").strip()
        self.mark_at = int(os.environ.get("MAILBOX_MARK_AT") or 0)
        self.marker = Path(os.environ.get("MAILBOX_MARKER") or self.root / "mailbox.marker")
        self.mark_hang = float(os.environ.get("MAILBOX_MARK_HANG") or 30)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            number = _attempt_number(self.root)
            if number == self.mark_at:
                self.marker.touch()
                time.sleep(self.mark_hang)
            if self.delay:
                time.sleep(self.delay)
            if self.fail == "always" or (self.fail.isdigit() and number <= int(self.fail)):
                if self.fail_silently:
                    continue
                raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed ({number})")
            name = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex}"
            temporary = self.directory / f".{name}.tmp"
            temporary.write_bytes(message.message().as_bytes(linesep="\n"))
            temporary.rename(self.directory / f"{name}.eml")
            sent += 1
        return sent


# --- Reading the mailbox ------------------------------------------------------------------


def messages(directory: Path | str) -> list[ParsedMessage]:
    """The delivered messages, parsed (headers decoded, ``get_body()`` and the like)."""
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(Path(directory).glob("*.eml"))
    ]


def count(directory: Path | str) -> int:
    return len(list(Path(directory).glob("*.eml")))


def by_message_id(directory: Path | str) -> Counter[str]:
    """How many times each Message-ID was delivered."""
    return Counter(str(message["Message-ID"]) for message in messages(directory))


def by_notification(directory: Path | str) -> Counter[int]:
    """How many times each notification's email was delivered (read from its Message-ID)."""
    delivered: Counter[int] = Counter()
    for message_id, times in by_message_id(directory).items():
        match = NOTIFICATION_MESSAGE_ID.search(message_id)
        if match:
            delivered[int(match.group(1))] += times
    return delivered


def attempts(directory: Path | str) -> int:
    """How many sends were attempted (delivered or refused) by every process so far."""
    folder = Path(directory).parent / "attempts"
    return len(os.listdir(folder)) if folder.exists() else 0
