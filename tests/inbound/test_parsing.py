"""Reading raw messages: charsets, HTML, attachments, senders, what kind of mail it is."""

from __future__ import annotations

import base64
import contextlib
import random
from email.header import Header

import pytest

from leads.inbound import parsing
from leads.inbound.parsing import Malformed, parse
from leads.inbound.services import split_name
from tests.inbound.conftest import message


def _raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode("ascii") + b"\r\n" + body


def test_plain_text() -> None:
    parsed = parse(message(body="Hi,\nwe need a quote.\n").as_bytes())
    assert parsed.sender_email == "rita@acme.test"
    assert parsed.sender_name == "Rita Acme"
    assert parsed.subject == "Quote for 20 seats"
    assert parsed.text == "Hi,\nwe need a quote."
    assert parsed.attachments == []
    assert parsed.message_id.startswith("<")
    assert parsed.message_id.endswith("@mail.acme.test>")
    assert parsed.ignored == ""


def test_html_only_becomes_text() -> None:
    html = b"<html><body><p>Hello <b>team</b>,</p><p>Call me on 555-0100.</p></body></html>"
    raw = _raw(
        "From: ann@acme.test\nSubject: Hi\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n",
        html,
    )
    text = parse(raw).text
    assert "Hello team," in text
    assert "Call me on 555-0100." in text
    assert "<" not in text


def test_multipart_with_an_attachment_lists_it() -> None:
    msg = message(body="Our requirements are attached.")
    msg.add_attachment(
        b"%PDF-1.4 " + b"x" * 991,
        maintype="application",
        subtype="pdf",
        filename="requirements.pdf",
    )
    parsed = parse(msg.as_bytes())
    assert parsed.text == "Our requirements are attached."
    assert parsed.attachments == [
        {"name": "requirements.pdf", "type": "application/pdf", "size": 1000}
    ]


def test_text_and_html_alternatives_take_the_text_and_list_no_attachment() -> None:
    msg = message(body="Plain words.")
    msg.add_alternative("<p>HTML words.</p>", subtype="html")
    parsed = parse(msg.as_bytes())
    assert parsed.text == "Plain words."
    assert parsed.attachments == []


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-2022-jp", "お見積もりをお願いします。"),
        ("shift_jis", "資料を送ってください。"),
        ("windows-1252", "Café – “quote” for Zoë, 5 €"),
    ],
)
def test_declared_charsets(charset: str, text: str) -> None:
    raw = _raw(
        f"From: a@example.jp\nSubject: x\nContent-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 8bit\n",
        text.encode(charset),
    )
    assert parse(raw).text == text


def test_iso_2022_jp_as_a_mail_client_sends_it() -> None:
    body = "来週お電話ください。"
    encoded = base64.b64encode(body.encode("iso-2022-jp")).decode()
    name = Header("田中 太郎", "iso-2022-jp").encode()
    subject = Header("お見積", "iso-2022-jp").encode()
    assert subject.startswith("=?iso-2022-jp?b?")
    raw = _raw(
        f"From: {name} <tanaka@example.jp>\n"
        f"Subject: {subject}\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: base64\n",
        encoded.encode(),
    )
    parsed = parse(raw)
    assert parsed.text == body
    assert parsed.subject == "お見積"
    assert parsed.sender_name == "田中 太郎"


def test_an_undeclared_or_wrong_charset_is_detected() -> None:
    text = "Bonjour, nous aimerions un devis pour l'équipe de Zoë à Besançon, s'il vous plaît."
    for header in ("Content-Type: text/plain\n", "Content-Type: text/plain; charset=utf-8\n"):
        raw = _raw(f"From: a@example.fr\nSubject: x\n{header}", text.encode("windows-1252"))
        assert parse(raw).text == text


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("shift_jis", "資料を送ってください。来週の打ち合わせについてご相談させてください。"),
        ("cp1251", "Здравствуйте, пришлите, пожалуйста, коммерческое предложение."),
        ("iso-8859-1", "Grüße aus Köln, wir hätten gern ein Angebot."),
    ],
)
def test_undeclared_charsets_are_detected(charset: str, text: str) -> None:
    raw = _raw("From: a@example.com\nSubject: x\n", text.encode(charset))
    assert parse(raw).text == text


def test_encoded_word_subject() -> None:
    raw = _raw(
        "From: a@example.com\n"
        "Subject: =?UTF-8?Q?Angebot_f=C3=BCr_M=C3=BCller?= =?UTF-8?B?IOKAkyBkcmluZ2VuZA==?=\n",
        b"Hallo",
    )
    assert parse(raw).subject == "Angebot für Müller – dringend"


def test_reply_to_of_a_contact_form_service_is_the_sender() -> None:
    msg = message(
        sender="Website forms <noreply@forms.test>", headers={"Reply-To": "Bo Visitor <bo@v.test>"}
    )
    parsed = parse(msg.as_bytes())
    assert (parsed.sender_name, parsed.sender_email) == ("Bo Visitor", "bo@v.test")
    same = parse(message(headers={"Reply-To": "rita@acme.test"}).as_bytes())
    assert (same.sender_name, same.sender_email) == ("Rita Acme", "rita@acme.test")


def test_thread_ids_from_in_reply_to_and_references() -> None:
    msg = message(headers={"In-Reply-To": "<b@x>", "References": "<a@x> <b@x>"})
    assert parse(msg.as_bytes()).thread == ["<b@x>", "<a@x>"]


def test_preview_leaves_out_the_quoted_reply_and_signature() -> None:
    body = (
        "Yes, Tuesday works.\n\nBest,\nRita\n-- \nRita Acme | CEO\n\n"
        "On Mon, 1 Dec 2026 at 10:00, Sam Rep <sam@crm.test> wrote:\n> Does Tuesday work?\n"
    )
    parsed = parse(message(body=body).as_bytes())
    assert parsed.preview == "Yes, Tuesday works.\n\nBest,\nRita"
    assert "> Does Tuesday work?" in parsed.text
    wrapped = "Sounds good.\n\nOn Mon, 1 Dec 2026 at 10:00, Sam Rep\n<sam@crm.test> wrote:\n> Hi"
    assert parse(message(body=wrapped).as_bytes()).preview == "Sounds good."


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"Auto-Submitted": "auto-replied"},
            "An automatic message (Auto-Submitted: auto-replied).",
        ),
        ({"Precedence": "bulk"}, "Bulk or list mail (Precedence: bulk)."),
        ({"Precedence": "auto_reply"}, "Bulk or list mail (Precedence: auto_reply)."),
        ({"X-Autoreply": "yes"}, "An automatic reply (X-Autoreply)."),
        ({"X-Autorespond": "yes"}, "An automatic reply (X-Autorespond)."),
    ],
)
def test_automatic_mail_is_ignored(headers: dict[str, str], reason: str) -> None:
    assert parse(message(headers=headers).as_bytes()).ignored == reason


def test_auto_submitted_no_is_a_person() -> None:
    assert parse(message(headers={"Auto-Submitted": "no"}).as_bytes()).ignored == ""


def test_bounces_are_ignored() -> None:
    daemon = message(sender="Mail Delivery System <MAILER-DAEMON@mx.test>")
    assert parse(daemon.as_bytes()).ignored == parsing.MAILER_DAEMON.format(
        address="MAILER-DAEMON@mx.test"
    )
    report = _raw(
        "From: postmaster@mx.test\nSubject: Undelivered\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b--\r\n",
    )
    assert parse(report).ignored == parsing.BOUNCE


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Hello, I would like a quote for 20 seats.", parsing.NO_HEADERS),
        (b"", parsing.EMPTY),
        (b"\r\n  \r\n", parsing.EMPTY),
        (b"Subject: hi\r\n\r\nNo sender here.", parsing.NO_SENDER),
        (b"From: \r\nSubject: hi\r\n\r\nx", parsing.NO_SENDER),
        (
            b"From: not an address\r\nSubject: hi\r\n\r\nx",
            parsing.BAD_SENDER.format(address="not an address"),
        ),
        (
            b"From: Bo <bo@@x>\r\nSubject: hi\r\n\r\nx",
            parsing.BAD_SENDER.format(address="Bo <bo@@x>"),
        ),
        (
            b"From: bo@x.test\r\nContent-Type: multipart/mixed\r\n\r\n--zz\r\nbody\r\n",
            parsing.NO_BOUNDARY,
        ),
        (
            b"From: bo@x.test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            b"\x00\x01\x02\xff\xfe\x81",
            parsing.UNDECODABLE.format(charset="utf-8"),
        ),
    ],
)
def test_malformed_messages_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(Malformed) as refused:
        parse(raw)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("name", "address", "expected"),
    [
        ("Ann Lee", "x@y", ("Ann", "Lee")),
        ("Lee, Ann", "x@y", ("Ann", "Lee")),
        ("Ann Marie van der Berg", "x@y", ("Ann", "Marie van der Berg")),
        ("Cher", "x@y", ("Cher", "")),
        ("", "ann.lee@acme.test", ("Ann", "Lee")),
        ("", "info2024@acme.test", ("Info2024", "")),
        ("ann@acme.test", "ann@acme.test", ("Ann", "")),
    ],
)
def test_names_from_the_sender(name: str, address: str, expected: tuple[str, str]) -> None:
    assert split_name(name, address) == expected


@pytest.mark.parametrize("sender", ["a@", '"a" <b@[', '"', "x <y@"])
def test_senders_the_standard_library_trips_over_are_rejected(sender: str) -> None:
    # Each of these raises inside email's header parser (IndexError, AttributeError).
    with pytest.raises(Malformed) as refused:
        parse(f"From: {sender}\r\nSubject: hi\r\n\r\nx".encode())
    assert str(refused.value) == parsing.BAD_SENDER.format(address=sender)


def test_mangled_messages_are_read_or_rejected_never_an_error() -> None:
    """Random bytes changed, cut out and put in (a seeded sweep: it found the header
    parser's IndexError and AttributeError on broken addresses)."""
    msg = message()
    msg.add_alternative("<p>Hello</p>", subtype="html")
    msg.add_attachment(b"%PDF" * 40, maintype="application", subtype="pdf", filename="a.pdf")
    base = msg.as_bytes()
    rng = random.Random(2026)
    for _ in range(1500):
        mangled = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            at = rng.randrange(len(mangled))
            roll = rng.random()
            if roll < 0.4:
                mangled[at] = rng.randrange(256)
            elif roll < 0.7:
                del mangled[at : at + rng.randint(1, 30)]
            else:
                mangled[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 10)))
        with contextlib.suppress(Malformed):
            parse(bytes(mangled))
