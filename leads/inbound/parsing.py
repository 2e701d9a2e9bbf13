"""Reading a raw RFC 822 message: sender, subject, text, attachments, and what kind of
mail it is. Pure functions over bytes; nothing here touches the database."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from inscriptis import get_text

# Reasons a person can act on, kept here so the tests can assert the exact text.
NO_HEADERS = (
    "The message has no headers: send the whole RFC 822 message (headers, a blank line, "
    "then the body), not only its text."
)
EMPTY = (
    "The message is empty: nothing was sent (a request needs a Content-Length; chunked "
    "uploads are not read)."
)
NO_SENDER = "The message has no From address, so there is nobody to answer."
BAD_SENDER = "The sender's address “{address}” is not a valid email address."
NO_BOUNDARY = (
    "The message says it is multipart but its parts cannot be found (no or wrong "
    "boundary); it may have been cut or altered on the way."
)
UNDECODABLE = "The message text could not be decoded (declared charset: {charset})."
UNREADABLE = "The message could not be read as an email: {error}"

AUTO_SUBMITTED = "An automatic message (Auto-Submitted: {value})."
PRECEDENCE = "Bulk or list mail (Precedence: {value})."
AUTOREPLY_HEADER = "An automatic reply ({header})."
BOUNCE = "A delivery report (bounce)."
MAILER_DAEMON = "Sent by a mail server ({address}), not a person."

BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
SYSTEM_SENDERS = {"mailer-daemon", "postmaster"}

# What mail is written in most, for ties between equally plausible charsets.
PREFERRED_CHARSETS = [
    "utf_8",
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp932",
    "shift_jis",
    "euc_jp",
    "cp1251",
    "koi8_r",
]

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_THREAD_IDS = 50
MAX_TEXT = 200_000  # characters of text kept from one message (its raw copy has the rest)


class Malformed(Exception):
    """The message cannot be read; ``str()`` is the reason, written for a person."""


@dataclass
class Parsed:
    sender_name: str = ""
    sender_email: str = ""
    subject: str = ""
    text: str = ""
    preview: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    message_id: str = ""
    thread: list[str] = field(default_factory=list)
    ignored: str = ""  # why it is not a person writing (auto-reply, bulk, bounce), if so


def clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL."""
    return text.replace("\x00", "")


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (errors.HeaderParseError, IndexError, ValueError, TypeError):
        return ""
    return clean(" ".join(str(value).split())) if value is not None else ""


def read_message_id(raw: bytes) -> str:
    """The Message-ID alone, read from the headers without parsing the body."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        value = str(headers.get("Message-ID") or "")
    except Exception:
        return ""
    found = MESSAGE_ID.search(value)
    return clean(found.group(0) if found else value.strip())[:255]


def thread_ids(message: Message) -> list[str]:
    """In-Reply-To first, then References (newest last), each once."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        for found in MESSAGE_ID.findall(_header(message, name)):
            if found not in ids:
                ids.append(found)
    return ids[:MAX_THREAD_IDS]


def decode_text(payload: bytes, charset: str | None) -> str:
    """The declared charset if it decodes; otherwise (undeclared, unknown or wrong) UTF-8,
    then whatever charset-normalizer finds. Raises Malformed when nothing fits."""
    candidates = [charset] if charset else []
    if not charset or charset.lower() not in ("utf-8", "utf8"):
        candidates.append("utf-8")
    for name in candidates:
        try:
            codecs.lookup(name)
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    matches = from_bytes(payload)
    best = matches.best()
    if best is None:
        raise Malformed(UNDECODABLE.format(charset=charset or "none"))
    # Short texts fit several single-byte charsets equally well: take the one mail uses most.
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01]
    for preferred in PREFERRED_CHARSETS:
        for match in tied:
            if preferred in match.could_be_from_charset:
                return str(match)
    return str(best)


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return b""


def _text_of(part: Message) -> str:
    text = decode_text(_payload(part), part.get_content_charset())
    if part.get_content_subtype() == "html":
        text = get_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


QUOTE_HEADERS = [
    re.compile(r"^\s*On .{0,300}wrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am .{0,300}schrieb .{0,200}:\s*$", re.DOTALL),
    re.compile(r"^\s*Le .{0,300}a écrit\s*:\s*$", re.DOTALL),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's line above the quoted message
    re.compile(r"^\s*From: .+$"),  # Outlook's quoted header block
]
SIGNATURES = [
    re.compile(r"^-- ?$"),  # RFC 3676 signature separator
    re.compile(r"^Sent from my \w+", re.IGNORECASE),
    re.compile(r"^Get Outlook for \w+", re.IGNORECASE),
]


def strip_quotes(text: str) -> str:
    """The new words of a message: up to the quoted reply or the signature."""
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            break
        if any(pattern.match(line) for pattern in SIGNATURES):
            break
        # "On Mon, 1 Dec 2026 at 10:00, Ann <ann@example.com> wrote:" may wrap over 2 lines.
        joined = " ".join(lines[index : index + 2])
        if any(pattern.match(line) for pattern in QUOTE_HEADERS) or (
            QUOTE_HEADERS[0].match(joined) and index + 1 < len(lines)
        ):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _boundary_missing(message: Message) -> bool:
    for part in message.walk():
        for defect in part.defects:
            if isinstance(
                defect, errors.NoBoundaryInMultipartDefect | errors.StartBoundaryNotFoundDefect
            ):
                return True
    return False


def _sender(message: Message) -> tuple[str, str, str]:
    """(name, address, as written): Reply-To when a contact-form service sends for the
    visitor (it differs from From), else From."""
    from_name, from_address, written = _address(message, "From")
    reply_name, reply_address, reply_written = _address(message, "Reply-To")
    if "@" in reply_address and reply_address.lower() != from_address.lower():
        return reply_name, reply_address, reply_written
    return from_name, from_address, written


def _raw_header(message: Message, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return clean(" ".join(str(value).split()))
    return ""


def _address(message: Message, name: str) -> tuple[str, str, str]:
    written = _raw_header(message, name)
    if not written:
        return "", "", ""
    try:
        addresses = getattr(message[name], "addresses", ())
    except (AttributeError, errors.HeaderParseError, IndexError, ValueError, TypeError):
        addresses = ()
    if addresses:
        first = addresses[0]
        return clean(first.display_name.strip()), clean(first.addr_spec.strip()), written
    found = getaddresses([written])
    display, address = found[0] if found else parseaddr(written)
    return clean(display.strip()), clean(address.strip()), written


def _classify(message: Message, from_address: str) -> str:
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return AUTO_SUBMITTED.format(value=auto)
    precedence = _header(message, "Precedence").lower()
    if precedence in BULK_PRECEDENCE:
        return PRECEDENCE.format(value=precedence)
    for name in ("X-Autoreply", "X-Autorespond"):
        if any(key.lower() == name.lower() for key in message):
            return AUTOREPLY_HEADER.format(header=name)
    if message.get_content_type() == "multipart/report":
        return BOUNCE
    if from_address.partition("@")[0].lower() in SYSTEM_SENDERS:
        return MAILER_DAEMON.format(address=from_address)
    return ""


def _attachments(message: EmailMessage, body: Message | None) -> list[dict[str, Any]]:
    found = []
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        name = part.get_filename()
        if not name and not part.is_attachment() and part.get_content_maintype() == "text":
            continue  # the other alternative of the body (HTML beside the text)
        found.append(
            {
                "name": clean(str(name or "")),
                "type": part.get_content_type(),
                "size": len(_payload(part)),
            }
        )
    return found


def parse(raw: bytes) -> Parsed:
    """Read a message; Malformed says why one cannot be read."""
    try:
        return _parse(raw)
    except Malformed:
        raise
    except (
        IndexError,
        AttributeError,
        ValueError,
        TypeError,
        LookupError,
        errors.MessageError,
    ) as error:
        # The standard library's header parser still trips over some malformed headers.
        raise Malformed(UNREADABLE.format(error=f"{type(error).__name__}: {error}")) from error


def _parse(raw: bytes) -> Parsed:
    if not raw.strip():
        raise Malformed(EMPTY)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:
        raise Malformed(UNREADABLE.format(error=error)) from error
    if not isinstance(message, EmailMessage):  # policy.default makes them; for the types
        raise Malformed(UNREADABLE.format(error=type(message).__name__))
    cut_short = any(
        isinstance(defect, errors.MissingHeaderBodySeparatorDefect) for defect in message.defects
    )
    if not message.keys() or (cut_short and not _raw_header(message, "From")):
        raise Malformed(NO_HEADERS)
    parsed = Parsed(
        subject=_header(message, "Subject")[:500],
        message_id=read_message_id(raw),
        thread=thread_ids(message),
    )
    _from_name, from_address, _written = _address(message, "From")
    parsed.ignored = _classify(message, from_address)
    if parsed.ignored:
        return parsed
    name, address, written = _sender(message)
    if not written:
        raise Malformed(NO_SENDER)
    try:
        validate_email(address)
    except ValidationError:
        raise Malformed(BAD_SENDER.format(address=written[:254])) from None
    parsed.sender_name, parsed.sender_email = name[:200], address.lower()[:254]
    if _boundary_missing(message):
        raise Malformed(NO_BOUNDARY)
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, AttributeError, errors.MessageError):
        body = None
    if body is not None:
        parsed.text = clean(_text_of(body)).strip()[:MAX_TEXT]
    parsed.preview = strip_quotes(parsed.text) or parsed.text
    parsed.attachments = _attachments(message, body)
    return parsed
