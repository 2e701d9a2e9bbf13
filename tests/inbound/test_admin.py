"""The admin: a new mailbox shows its endpoint (token) once; stored messages are read
there, and failed ones processed again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import Team, User
from leads.inbound import services
from leads.inbound.models import InboundEmail, Mailbox, hash_token
from leads.models import Lead, Source
from tests.inbound.conftest import MakeMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(admin: User) -> Client:
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_new_mailbox_shows_its_token_once(
    client: Client, team: Team, email_source: Source
) -> None:
    response = client.post(
        reverse("admin:inbound_mailbox_add"),
        {"name": "Sales inbox", "is_active": "on", "source": email_source.pk, "team": team.pk},
        follow=True,
    )
    mailbox = Mailbox.objects.get()
    (shown,) = [m for m in _messages(response) if "/inbound/email/" in m]
    token = re.search(r"/inbound/email/([^/]+)/", shown).group(1)
    assert mailbox.token_hash == hash_token(token)
    assert (
        token
        not in client.get(
            reverse("admin:inbound_mailbox_change", args=[mailbox.pk])
        ).content.decode()
    )
    assert services.mailbox_for_token(token) == mailbox

    response = client.post(
        reverse("admin:inbound_mailbox_changelist"),
        {"action": "replace_token", "_selected_action": [mailbox.pk]},
        follow=True,
    )
    assert services.mailbox_for_token(token) is None
    (shown,) = [m for m in _messages(response) if "/inbound/email/" in m]
    new = re.search(r"/inbound/email/([^/]+)/", shown).group(1)
    assert services.mailbox_for_token(new) == mailbox


def test_the_list_filters_and_searches_and_the_page_is_read_only(
    client: Client, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    outcome = services.inbound_email_receive(
        mailbox=mailbox, raw=make_message(subject="Pricing for Globex")
    )
    services.inbound_email_receive(mailbox=mailbox, raw=b"garbage")
    url = reverse("admin:inbound_inboundemail_changelist")
    page = client.get(url, {"status__exact": "created", "q": "globex"}).content.decode()
    assert "Pricing for Globex" in page
    assert (
        client.get(url, {"status__exact": "rejected", "q": "globex"})
        .content.decode()
        .count("Pricing for Globex")
        == 0
    )
    detail = client.get(reverse("admin:inbound_inboundemail_change", args=[outcome.inbound]))
    assert detail.status_code == 200
    assert "Pricing for Globex" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()


def test_reprocess_action(
    client: Client, mailbox: Mailbox, make_message: MakeMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "capture_inquiry", lambda inquiry: 1 / 0)
    failed = services.inbound_email_receive(mailbox=mailbox, raw=make_message())
    done = services.inbound_email_receive(mailbox=mailbox, raw=b"no headers")
    assert failed.status == "failed"
    monkeypatch.undo()

    response = client.post(
        reverse("admin:inbound_inboundemail_changelist"),
        {"action": "reprocess", "_selected_action": [failed.inbound, done.inbound]},
        follow=True,
    )
    shown = _messages(response)
    assert f"1 message(s) processed again: #{failed.inbound} new lead." in shown
    assert any("1 message(s) skipped" in m for m in shown)
    assert InboundEmail.objects.get(pk=failed.inbound or 0).status == "created"
    assert Lead.objects.count() == 1


def test_the_raw_message_is_downloaded_and_its_headers_shown(
    client: Client, mailbox: Mailbox, make_message: MakeMessage
) -> None:
    raw = make_message(subject="Pricing <script>")
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=raw)
    detail = client.get(reverse("admin:inbound_inboundemail_change", args=[outcome.inbound]))
    page = detail.content.decode()
    assert "Subject: Pricing &lt;script&gt;" in page
    assert f"Download (.eml, {len(raw)} bytes kept)" in page
    download = client.get(reverse("admin:inbound_inboundemail_raw", args=[outcome.inbound]))
    assert download["Content-Type"] == "message/rfc822"
    assert (
        download["Content-Disposition"] == f'attachment; filename="inbound-{outcome.inbound}.eml"'
    )
    assert download.content == raw
    Client().get("/")  # nobody signed in: the admin's login, not the message
    anonymous = Client().get(  # nobody signed in: the admin's login, not the message
        reverse("admin:inbound_inboundemail_raw", args=[outcome.inbound])
    )
    assert anonymous.status_code == 302
