"""``manage.py ingest_email [--mailbox NAME] < message.eml``: for an MTA's pipe."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.inbound import services
from leads.inbound.models import Mailbox

NO_MAILBOX = "No active mailbox: add one in the admin (Inbound email → Mailboxes)."
NO_SUCH_MAILBOX = "No active mailbox is named “{name}”. Active mailboxes: {names}."
WHICH_MAILBOX = "There are {count} active mailboxes: pass --mailbox NAME (one of: {names})."
CHUNK = 1024 * 1024


def read_capped(stream: Any, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` bytes of the stream, and how many it had in all."""
    data = stream.read(limit)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    size = len(data)
    if size >= limit:  # count the rest without keeping it
        while more := stream.read(CHUNK):
            size += len(more)
    return data, size


def find_mailbox(name: str | None) -> Mailbox:
    active = Mailbox.objects.filter(is_active=True).select_related("team", "source")
    names = ", ".join(active.values_list("name", flat=True)) or "none"
    if name:
        mailbox = active.filter(name=name).first()
        if mailbox is None:
            raise CommandError(NO_SUCH_MAILBOX.format(name=name, names=names))
        return mailbox
    found = list(active[:2])
    if not found:
        raise CommandError(NO_MAILBOX)
    if len(found) > 1:
        raise CommandError(WHICH_MAILBOX.format(count=active.count(), names=names))
    return found[0]


class Command(BaseCommand):
    help = (
        "Receive one email from standard input (the raw RFC 822 message), as the inbound "
        "endpoint does. Prints the outcome as JSON on its last line."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", help="The mailbox's name (default: the only one).")

    def handle(self, *args: Any, mailbox: str | None = None, **options: Any) -> None:
        box = find_mailbox(mailbox)
        stream = options.get("stdin") or sys.stdin
        stream = getattr(stream, "buffer", stream)
        raw, size = read_capped(stream, services.MAX_MESSAGE_BYTES + 1)
        outcome = services.inbound_email_receive(mailbox=box, raw=raw, size=size)
        self.stdout.write(json.dumps(outcome.as_json(), ensure_ascii=False))
