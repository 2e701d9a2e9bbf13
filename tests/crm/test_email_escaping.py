"""Plain text is not HTML: an email's subject and text part, and a notification's text,
carry what the user typed as typed (``Q&A prep <pricing>``); the HTML part and the pages
escape it exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.followups import digest
from crm.followups import services as followups
from crm.followups.reminders import reminders_dispatch
from crm.models import Notification
from crm.notifications import dispatch_emails, send_emails
from leads.models import Lead
from leads.sla import services as sla
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

TITLE = "Q&A prep <pricing>"
ESCAPED = "Q&amp;A prep &lt;pricing&gt;"


def sent(at: datetime) -> list[mail.EmailMultiAlternatives]:
    mail.outbox.clear()
    send_emails(dispatch_emails(at=at))
    return list(mail.outbox)


def html_of(email: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return str(html)


def assert_plain(text: str, expected: str) -> None:
    assert expected in text
    for entity in ("&amp;", "&lt;", "&gt;", "&#x27;", "&quot;"):
        assert entity not in text


def assert_escaped_once(html: str, expected: str) -> None:
    assert expected in html
    assert "&amp;amp;" not in html
    assert "&amp;lt;" not in html


def page(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse("notifications:list")).content.decode()


def test_a_task_reminder_carries_the_title_as_typed(rep: User) -> None:
    lead = make_lead(rep, first_name="Tom & Jerry", last_name="O'Hara", company="R&D <Labs>")
    due = timezone.now()
    followups.task_create(actor=rep, title=TITLE, due_at=due, lead=lead, notes="Bring <specs> & Co")
    assert reminders_dispatch(at=due) == 1

    notification = Notification.objects.get(kind=Notification.Kind.REMINDER)
    assert notification.title.startswith(f"Reminder: {TITLE} — due ")
    [email] = sent(due)
    assert email.subject == notification.title
    assert_plain(email.subject, TITLE)
    assert_plain(email.body, f": {TITLE}")
    assert_plain(email.body, "Bring <specs> & Co")
    assert_plain(email.body, "Tom & Jerry O'Hara")
    html = html_of(email)
    assert_escaped_once(html, ESCAPED)
    assert TITLE not in html
    assert "Bring &lt;specs&gt; &amp; Co" in html

    shown = page(rep)
    assert f"Reminder: {ESCAPED} — due " in shown
    assert TITLE not in shown
    assert "&amp;amp;" not in shown


def test_an_sla_alert_carries_the_name_as_typed(rep: User) -> None:
    lead = make_lead(rep, first_name="Tom & Jerry", last_name="O'Hara <Ltd>")
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.sla_due_at is not None
    at = lead.sla_due_at + timedelta(minutes=1)
    sla.sla_scan(at=at)
    notification = Notification.objects.get(kind=Notification.Kind.SLA_ALERT)
    assert notification.title == f"Not contacted in time: {lead.number} Tom & Jerry O'Hara <Ltd>"
    [email] = sent(at)
    assert email.subject == notification.title
    assert_plain(email.body, "Tom & Jerry O'Hara <Ltd>")
    assert_escaped_once(html_of(email), "Tom &amp; Jerry O&#x27;Hara &lt;Ltd&gt;")
    assert "Tom &amp; Jerry O&#x27;Hara &lt;Ltd&gt;" in page(rep)


def test_the_digest_lists_task_titles_as_typed(rep: User) -> None:
    followups.task_create(actor=rep, title=TITLE, due_at=timezone.now())
    built = digest.digest_notification(digest.digest_for(rep), timezone.now())
    assert_plain(built.email_subject, "")
    assert_plain(built.email_text, TITLE)
    assert_escaped_once(built.email_html, ESCAPED)


def test_a_task_handed_over_is_shown_escaped_once(manager: User, rep: User) -> None:
    followups.task_create(actor=manager, title=TITLE, due_at=timezone.now(), assignee=rep)
    notification = Notification.objects.get(kind=Notification.Kind.ASSIGNED)
    assert notification.title.endswith(f"gave you a task: {TITLE}")
    shown = page(rep)
    assert f"gave you a task: {ESCAPED}" in shown
    assert "&amp;amp;" not in shown
