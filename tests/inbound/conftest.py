"""A mailbox, and messages written the way mail clients and providers write them."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from accounts.models import Team
from leads.inbound.models import Mailbox
from leads.inbound.services import mailbox_create
from leads.models import Source

MakeMessage = Callable[..., bytes]


@pytest.fixture
def email_source(db: None) -> Source:
    # A transactional test's flush removes the rows leads 0002 made.
    return Source.objects.get_or_create(name="Email")[0]


@pytest.fixture
def mailbox_and_token(team: Team, email_source: Source) -> tuple[Mailbox, str]:
    return mailbox_create(name="sales", team=team, source=email_source)


@pytest.fixture
def mailbox(mailbox_and_token: tuple[Mailbox, str]) -> Mailbox:
    return mailbox_and_token[0]


@pytest.fixture
def token(mailbox_and_token: tuple[Mailbox, str]) -> str:
    return mailbox_and_token[1]


def message(
    *,
    sender: str = "Rita Acme <rita@acme.test>",
    subject: str = "Quote for 20 seats",
    body: str = "Hello, we would like a quote for 20 seats.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "sales@crm.test"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="mail.acme.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


@pytest.fixture
def make_message() -> MakeMessage:
    def make(**kwargs: object) -> bytes:
        return message(**kwargs).as_bytes()

    return make
