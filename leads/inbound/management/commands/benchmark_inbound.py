"""Ingest a bounded batch of varied messages through ``ingest_email``:
``manage.py benchmark_inbound [--count 1000] [--processes 5] [--json FILE] [--keep]``.

It makes a mailbox of its own and builds ``--count`` messages of the kinds a sales inbox
gets: plain and HTML-only inquiries, multipart with an attachment, bodies in ISO-2022-JP,
Shift_JIS and Windows-1252, RFC 2047 subjects, a person writing again (attached to their
new lead), a reply to one of them, auto-replies and bounces (ignored), the same
Message-ID twice (duplicate) and malformed input (stored, rejected). Each goes through the
command itself (``call_command("ingest_email", stdin=…)``, the code an MTA's pipe runs),
in one process, and the rate is reported per kind and overall. ``--processes N`` also
pipes N messages through a fresh ``manage.py ingest_email`` each, as an MTA does, to show
what starting Django costs per message.

It then checks every message was stored once with the outcome its kind expects, and
deletes what it made (``--keep`` leaves it). Nothing else in the database is touched.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import now

from crm.models import AuditEvent, Notification
from crm.workers import database_url
from leads.inbound.models import InboundEmail, Mailbox
from leads.models import Lead, LeadNote

Build = Callable[[str, int], bytes]


def _message(run: str, i: int, *, sender: str = "", subject: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender or f"Visitor {i} <v{run}-{i}@example.org>"
    message["To"] = "sales@example.com"
    message["Subject"] = subject or f"Question about pricing ({i})"
    message["Date"] = format_datetime(now())
    message["Message-ID"] = f"<{run}.{i}@bench.example.org>"
    return message


def plain(run: str, i: int) -> bytes:
    message = _message(run, i)
    message.set_content(f"Hello,\n\nCould you send us a quote for 20 seats?\n\n-- \nVisitor {i}\n")
    return bytes(message)


def html_only(run: str, i: int) -> bytes:
    message = _message(run, i, subject=f"Demo request {i}")
    message.set_content(
        f"<html><body><p>Hi,</p><p>We would like a <b>demo</b> next week.</p>"
        f"<blockquote>On Monday you wrote: …</blockquote><p>Visitor {i}</p></body></html>",
        subtype="html",
    )
    return bytes(message)


def with_attachment(run: str, i: int) -> bytes:
    message = _message(run, i, subject=f"RFP attached ({i})")
    message.set_content("Please find our request for proposal attached.\n")
    message.add_attachment(
        b"%PDF-1.4 " + b"x" * 20_000, maintype="application", subtype="pdf", filename="rfp.pdf"
    )
    return bytes(message)


def japanese(run: str, i: int) -> bytes:
    charset = "iso-2022-jp" if i % 2 else "shift_jis"
    message = _message(run, i, sender=f"山田 花子 <j{run}-{i}@example.jp>")
    message.replace_header("Subject", "お見積りのお願い")  # encoded as an RFC 2047 word
    message.set_content("お世話になっております。\n見積りをお願いします。\n", charset=charset)
    return bytes(message)


def windows_1252(run: str, i: int) -> bytes:
    message = _message(run, i, sender=f"René Müller <r{run}-{i}@example.de>")
    message.replace_header("Subject", "Anfrage – Preise für Büro")
    message.set_content("Grüße aus Köln – wir hätten gern ein Angebot.\n", charset="windows-1252")
    return bytes(message)


def writes_again(run: str, i: int) -> bytes:
    """The sender of message i - 1 (a plain inquiry) writes again: attached to that lead."""
    message = _message(run, i, sender=f"Visitor {i - 1} <v{run}-{i - 1}@example.org>")
    message.replace_header("Subject", "One more question")
    message.set_content("And do you offer a discount for non-profits?\n")
    return bytes(message)


def auto_reply(run: str, i: int) -> bytes:
    message = _message(run, i, subject="Out of office")
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am away until Monday.\n")
    return bytes(message)


def bounce(run: str, i: int) -> bytes:
    message = _message(run, i, sender="Mail Delivery System <mailer-daemon@example.org>")
    message.replace_header("Subject", "Undelivered Mail Returned to Sender")
    message.set_content("This is the mail system. Your message could not be delivered.\n")
    return bytes(message)


def duplicate(run: str, i: int) -> bytes:
    """Message i - 1 again, byte for byte (the MTA retried): stored once."""
    return plain(run, i - 1)


def malformed(run: str, i: int) -> bytes:
    return f"this is not an email {i}\n".encode()


# What each kind becomes. Every tenth message is one of these (in this order); the rest
# of each ten are plain inquiries, so the mix is what an inbox mostly gets.
KINDS: list[tuple[str, Build, str]] = [
    ("plain", plain, "created"),
    ("writes again", writes_again, "attached"),
    ("html only", html_only, "created"),
    ("attachment", with_attachment, "created"),
    ("japanese", japanese, "created"),
    ("windows-1252", windows_1252, "created"),
    ("plain", plain, "created"),
    ("duplicate", duplicate, "duplicate"),
    ("auto-reply / bounce", auto_reply, "ignored"),
    ("malformed", malformed, "rejected"),
]


def kind_of(i: int) -> tuple[str, Build, str]:
    name, build, expected = KINDS[i % len(KINDS)]
    if build is auto_reply and i % 20 >= 10:
        return name, bounce, expected
    return name, build, expected


class Command(BaseCommand):
    help = "Ingest varied messages through ingest_email and report messages/s."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument(
            "--processes",
            type=int,
            default=5,
            help="Also pipe this many through a fresh manage.py each (as an MTA does).",
        )
        parser.add_argument("--keep", action="store_true", help="Leave what it made.")
        parser.add_argument("--json", dest="json_path", help="Also write the results here.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = max(len(KINDS), min(options["count"], 20_000))
        run = uuid.uuid4().hex[:8]
        mailbox = Mailbox(name=f"Benchmark {run}")
        mailbox.new_token()
        mailbox.save()
        try:
            results = self._run(mailbox, run, count, max(0, min(options["processes"], 20)))
        finally:
            if not options["keep"]:
                self._clean(mailbox, run)
        self._report(results)
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(results, indent=2))
        if results["unexpected"]:
            raise CommandError(f"Unexpected outcomes: {results['unexpected'][:5]}")

    def _run(self, mailbox: Mailbox, run: str, count: int, processes: int) -> dict[str, Any]:
        messages = [(i, *kind_of(i)) for i in range(count)]
        built = [(i, name, build(run, i), expected) for i, name, build, expected in messages]
        seconds: dict[str, float] = defaultdict(float)
        kinds: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        unexpected = []
        started = time.perf_counter()
        for i, name, raw, expected in built:
            out = io.StringIO()
            began = time.perf_counter()
            call_command("ingest_email", mailbox=mailbox.name, stdin=io.BytesIO(raw), stdout=out)
            seconds[name] += time.perf_counter() - began
            kinds[name] += 1
            status = json.loads(out.getvalue().strip().splitlines()[-1])["status"]
            statuses[status] += 1
            if status != expected:
                unexpected.append({"message": i, "kind": name, "status": status})
        total = time.perf_counter() - started
        stored = InboundEmail.objects.filter(mailbox=mailbox).count()
        piped = self._piped(mailbox, run, count, processes) if processes else None
        return {
            "messages": count,
            "seconds": round(total, 2),
            "messages_per_s": round(count / total, 1),
            "stored": stored,
            "statuses": dict(statuses),
            "per_kind_ms": {
                name: round(seconds[name] * 1000 / kinds[name], 1) for name in sorted(kinds)
            },
            "through_a_new_process_each": piped,
            "unexpected": unexpected,
        }

    def _piped(self, mailbox: Mailbox, run: str, count: int, processes: int) -> dict[str, Any]:
        """A fresh ``manage.py ingest_email`` per message, as an MTA's pipe runs it."""
        timings = []
        for n in range(processes):
            raw = plain(run, count + n)
            began = time.perf_counter()
            command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
            done = subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
                [*command, "ingest_email", "--mailbox", mailbox.name],
                env={**os.environ, "DATABASE_URL": database_url()},
                input=raw,
                capture_output=True,
                check=False,
            )
            timings.append(time.perf_counter() - began)
            if done.returncode != 0:
                tail = done.stderr[-500:]
                raise CommandError(f"ingest_email exited {done.returncode}: {tail!r}")
        mean = sum(timings) / len(timings)
        return {"messages": processes, "mean_s": round(mean, 2), "per_s": round(1 / mean, 2)}

    def _clean(self, mailbox: Mailbox, run: str) -> None:
        leads = Lead.objects.filter(email__contains=f"{run}-")
        ids = list(leads.values_list("pk", flat=True))
        Notification.objects.filter(target_id__in=ids).delete()
        AuditEvent.objects.filter(target_id__in=ids, target_type__model="lead").delete()
        LeadNote.objects.filter(lead_id__in=ids).delete()
        InboundEmail.objects.filter(mailbox=mailbox).delete()
        Lead.tags.through.objects.filter(lead_id__in=ids).delete()
        Lead.objects.filter(pk__in=ids).delete()
        mailbox.delete()

    def _report(self, results: dict[str, Any]) -> None:
        self.stdout.write(
            f"Ingested {results['messages']:,} messages in {results['seconds']} s "
            f"({results['messages_per_s']}/s), {results['stored']:,} stored; "
            f"outcomes {results['statuses']}"
        )
        self.stdout.write(f"Mean ms per message, by kind: {results['per_kind_ms']}")
        piped = results["through_a_new_process_each"]
        if piped:
            self.stdout.write(
                f"Through a new process each (an MTA's pipe): {piped['mean_s']} s per message "
                f"({piped['per_s']}/s), mostly starting Django"
            )
