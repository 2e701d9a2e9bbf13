"""Notifications, and every email the CRM sends by itself (reminders, alerts, digests),
each sent exactly once.

1. An event creates a ``Notification`` whose ``key`` is unique for its user, inside the
   transaction that records the event (a task's reminder marked sent, a lead's SLA alert
   stamped). Processing the event twice — two beats, a redelivered message — creates
   nothing new, because the row or the unique key is already there.
2. ``dispatch_emails`` claims due outbox rows with ``SELECT … FOR UPDATE SKIP LOCKED``,
   marks them queued with a claim deadline and enqueues their ids after the commit. Two
   dispatchers never claim the same row. A row whose worker died (``kill -9`` can lose
   prefetched messages even with late acks) is offered again once its claim expires. The
   claim is short (``NOTIFICATION_CLAIM_SECONDS``) and the worker sending a batch extends
   it for the batch's remaining rows every ``NOTIFICATION_HEARTBEAT_SECONDS`` (a
   heartbeat), so a long batch is not offered twice and a crash delays mail by seconds,
   not minutes. The database, not the broker, knows what is due: nothing waits in a
   broker ETA.
3. ``send_email`` locks the row (a row locked by another worker is that worker's),
   returns unless it is still queued, sends, and marks it sent in the same transaction.
   A failure makes the row pending again with a later due time (backoff); after the last
   attempt it is failed, with the error shown to the user.

One window remains, as for any sender that cannot take part in the database's
transaction: the SMTP server accepted the message and the worker died before the commit.
The message's Message-ID is fixed per notification, so a receiving server or client that
sees it twice keeps one.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.timezone import now

from crm.models import Notification

logger = logging.getLogger(__name__)

Email = Notification.Email

# The outbox's Celery tasks (crm.tasks) call this module, so it enqueues them by name.
DISPATCH_EMAILS = "crm.tasks.remind_dispatch_emails"
SEND_EMAILS = "crm.tasks.remind_send_emails"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str = ""


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}" if path.startswith("/") else path


def render_plain(template_name: str, context: dict[str, Any]) -> str:
    """A plain-text template (a subject, a text part) rendered without HTML escaping: in
    plain text ``&`` is ``&``, and the subject is also the notification's text, which the
    pages escape (once) when they show it."""
    template = get_template(template_name).template  # type: ignore[attr-defined]
    return str(template.render(Context(context, autoescape=False)))


def render_email(template: str, context: dict[str, Any], *, user: Any) -> RenderedEmail:
    """``<template>_subject.txt``, ``.txt`` and ``.html`` under ``templates/email/``,
    rendered in the recipient's timezone so every time in it is theirs. Only the HTML
    part is HTML-escaped."""
    context = {"user": user, "site_url": settings.SITE_URL.rstrip("/"), **context}
    with timezone.override(user.timezone or "UTC"):
        subject = render_plain(f"email/{template}_subject.txt", context)
        text = render_plain(f"email/{template}.txt", context)
        html = render_to_string(f"email/{template}.html", context)
    return RenderedEmail(subject=" ".join(subject.split())[:255], text=text, html=html)


def build_notification(
    *,
    user: Any,
    kind: str,
    email_to: str = "",
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    target: Any = None,
    email: RenderedEmail | None = None,
    at: datetime | None = None,
) -> Notification:
    """An unsaved notification (for ``notify`` or a ``bulk_create`` of many)."""
    at = at or now()
    notification = Notification(
        user=user,
        email_to=email_to,
        kind=kind,
        key=key[:200],
        title=title[:200],
        body=body,
        url=url,
        created_at=at,
    )
    if target is not None:
        notification.target_type = ContentType.objects.get_for_model(target)
        notification.target_id = target.pk
    if email is not None:
        notification.email_subject = email.subject
        notification.email_text = email.text
        notification.email_html = email.html
        notification.email_state = Email.PENDING
        notification.email_due_at = at
    return notification


def notify(**fields: Any) -> Notification | None:
    """Create a notification once: ``None`` if this user already has one with this key."""
    notification = build_notification(**fields)
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        same = Notification.objects.filter(key=notification.key)
        if notification.user is None:
            same = same.filter(user__isnull=True)
        else:
            same = same.filter(user=notification.user)
        if same.exists():
            return None
        raise
    if notification.email_state == Email.PENDING:
        transaction.on_commit(dispatch_emails_soon)
    return notification


def notify_many(notifications: Sequence[Notification]) -> None:
    """Create many at once; any already there (same user and key) are left as they are."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    if any(n.email_state == Email.PENDING for n in notifications):
        transaction.on_commit(dispatch_emails_soon)


KICK_KEY = "crm:outbox:kick"
KICK_SECONDS = 1


_kicked_at = [-float(KICK_SECONDS)]  # when this process last asked (time.monotonic)


def dispatch_emails_soon() -> None:
    """Ask a worker to dispatch within a second rather than at the next beat. A burst of
    new emails (a web form's acknowledgements) asks once a second, not once per email:
    the one dispatch, a second later, claims every email due by then. A process that
    asked less than a second ago does not even ask the cache."""
    if time.monotonic() - _kicked_at[0] < KICK_SECONDS:
        return
    _kicked_at[0] = time.monotonic()
    if cache.add(KICK_KEY, 1, timeout=KICK_SECONDS):
        current_app.send_task(DISPATCH_EMAILS, countdown=KICK_SECONDS)


# --- Read state -----------------------------------------------------------------------


def notification_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read: the given ones, or all of them."""
    unread = Notification.objects.for_user(user).unread()
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=now())


# --- The outbox -----------------------------------------------------------------------


def claim_seconds() -> int:
    return int(settings.NOTIFICATION_CLAIM_SECONDS)


def extend_claim(ids: Iterable[int]) -> int:
    """The heartbeat: the rows of a batch still waiting to be sent stay claimed for another
    ``claim_seconds()``. Rows another worker holds right now are skipped, not waited for."""
    with transaction.atomic():
        waiting = (
            Notification.objects.filter(pk__in=list(ids), email_state=Email.QUEUED)
            .select_for_update(skip_locked=True)
            .order_by()
            .values("pk")
        )
        return Notification.objects.filter(pk__in=waiting).update(
            email_due_at=now() + timedelta(seconds=claim_seconds())
        )


def dispatch_emails(*, at: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim due emails and hand them to workers in batches; returns the claimed ids."""
    at = at or now()
    limit = limit or settings.NOTIFICATION_DISPATCH_LIMIT
    with transaction.atomic():
        ids = list(
            Notification.objects.email_due(at)
            .order_by("email_due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        Notification.objects.filter(pk__in=ids).update(
            email_state=Email.QUEUED, email_due_at=at + timedelta(seconds=claim_seconds())
        )
        size = settings.NOTIFICATION_EMAIL_BATCH
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        transaction.on_commit(lambda: _enqueue(batches))
    return ids


def _enqueue(batches: list[list[int]]) -> None:
    for batch in batches:
        current_app.send_task(SEND_EMAILS, args=[batch])


# What a worker reads to send an email. The text is fixed when the notification is made.
SEND_FIELDS = (
    "pk",
    "email_subject",
    "email_text",
    "email_html",
    "email_to",
    "user_id",
    "user__email",
    "user__is_active",
)


def send_emails(ids: Iterable[int]) -> int:
    """Send a batch over one connection; returns how many this call sent."""
    ids = list(ids)
    # The batch may have waited in the queue: take the claim afresh before anything else.
    extend_claim(ids)
    beat_every = float(settings.NOTIFICATION_HEARTBEAT_SECONDS)
    last_beat = time.monotonic()
    # One read for the whole batch, without locks: an email's text never changes once
    # written, and each one is locked and its state checked again before it is sent.
    waiting = {
        row["pk"]: row
        for row in Notification.objects.filter(pk__in=ids, email_state=Email.QUEUED).values(
            *SEND_FIELDS
        )
    }
    connection = get_connection()
    # Open it once for the batch (a backend opens and closes one per message otherwise). If
    # it cannot be opened now, each send tries again and records its own failed attempt.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.open()
    sent = 0
    try:
        for index, pk in enumerate(ids):
            if pk not in waiting:
                continue
            if time.monotonic() - last_beat >= beat_every:
                extend_claim(ids[index:])
                last_beat = time.monotonic()
            sent += _send(waiting.pop(pk), connection)
    finally:
        connection.close()
    return sent


def send_email(pk: int, *, connection: Any = None) -> bool:
    """Send one queued email, at most once; True if this call sent it."""
    email = Notification.objects.filter(pk=pk, email_state=Email.QUEUED).values(*SEND_FIELDS)
    row = email.first()
    return row is not None and _send(row, connection)


def message_id(pk: int) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "crm.localhost"
    return f"<notification-{pk}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_RETRY_SECONDS * 2 ** (attempts - 1))


def _send(email: dict[str, Any], connection: Any) -> bool:
    """Take the row, send, commit: one transaction per email, so a worker that dies
    mid-batch leaves every email it sent marked sent, and the others still queued."""
    pk = email["pk"]
    with transaction.atomic():
        # One statement takes the row and marks it sent: the subquery locks it, or skips it
        # if another worker holds it. The lock lasts until the commit, so nobody else can
        # send it meanwhile; a failed send overwrites the mark before then.
        free = (
            Notification.objects.filter(pk=pk, email_state=Email.QUEUED)
            .select_for_update(skip_locked=True)
            .order_by()
            .values("pk")
        )
        taken = Notification.objects.filter(pk__in=free).update(
            email_state=Email.SENT,
            email_sent_at=now(),
            email_due_at=None,
            email_error="",
            email_attempts=F("email_attempts") + 1,
        )
        if not taken:
            return False  # sent already, failed, or another worker holds it right now
        if email["user_id"] is None:
            to = email["email_to"]  # someone outside: a visitor's acknowledgement
        elif not email["user__is_active"] or not email["user__email"]:
            return _give_up(pk, "The recipient is deactivated.")
        else:
            to = email["user__email"]
        message = EmailMultiAlternatives(
            subject=email["email_subject"],
            body=email["email_text"],
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            connection=connection,
            headers={"Message-ID": message_id(pk)},
        )
        if email["email_html"]:
            message.attach_alternative(email["email_html"], "text/html")
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            if connection is not None:
                _reopen(connection)
            return _failed_attempt(pk, error)
        return True


def _reopen(connection: Any) -> None:
    """After a failure the connection may be dead: the rest of the batch gets a fresh one."""
    connection.close()
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.open()


def _failed_attempt(pk: int, error: Exception) -> bool:
    reason = f"{type(error).__name__}: {error}"[:500]
    attempts = Notification.objects.filter(pk=pk).values_list("email_attempts", flat=True).get()
    if attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        logger.error("Email for notification %s failed for good: %s", pk, reason)
        return _give_up(pk, reason)
    logger.warning(
        "Email for notification %s failed (attempt %s), retrying: %s", pk, attempts, reason
    )
    Notification.objects.filter(pk=pk).update(
        email_state=Email.PENDING,
        email_due_at=now() + retry_delay(attempts),
        email_error=reason,
        email_sent_at=None,
    )
    return False


def _give_up(pk: int, reason: str) -> bool:
    Notification.objects.filter(pk=pk).update(
        email_state=Email.FAILED, email_due_at=None, email_error=reason[:500], email_sent_at=None
    )
    return False


def notification_retry_email(*, notification: Notification) -> bool:
    """Give a failed email another round of attempts (an admin action)."""
    updated = Notification.objects.filter(pk=notification.pk, email_state=Email.FAILED).update(
        email_state=Email.PENDING, email_due_at=now(), email_attempts=0
    )
    if updated:
        transaction.on_commit(dispatch_emails_soon)
    return bool(updated)
