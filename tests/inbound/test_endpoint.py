"""POST /inbound/email/<token>/: the raw message as the body or as a form's email field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leads.inbound import services
from leads.inbound.models import InboundEmail, Mailbox
from leads.models import Lead
from tests.inbound.conftest import MakeMessage

pytestmark = pytest.mark.django_db


def url(token: str) -> str:
    return reverse("inbound:email", args=[token])


def test_a_raw_body_becomes_a_lead(token: str, make_message: MakeMessage) -> None:
    client = Client(enforce_csrf_checks=True)  # token-authenticated: no CSRF token needed
    response = client.post(url(token), make_message(), content_type="message/rfc822")
    assert response.status_code == 200
    inbound = InboundEmail.objects.get()
    lead = Lead.objects.get()
    assert response.json() == {
        "status": "created",
        "inbound": inbound.pk,
        "lead": lead.pk,
        "deal": None,
        "reason": "",
    }


def test_a_body_posted_as_form_data_by_curl_is_read_too(
    token: str, make_message: MakeMessage
) -> None:
    response = Client().post(
        url(token), make_message(), content_type="application/x-www-form-urlencoded"
    )
    assert response.json()["status"] == "created"


@pytest.mark.parametrize("field", ["email", "body-mime"])
def test_the_email_field_of_a_multipart_form(
    token: str, make_message: MakeMessage, field: str
) -> None:
    raw = make_message(subject="Über uns", body="Grüße aus Köln")
    response = Client().post(url(token), {field: raw.decode(), "to": "sales@crm.test"})
    assert response.status_code == 200
    assert response.json()["status"] == "created"
    inbound = InboundEmail.objects.get()
    assert inbound.subject == "Über uns"
    assert inbound.text == "Grüße aus Köln"


def test_the_email_field_as_an_uploaded_file(token: str, make_message: MakeMessage) -> None:
    upload = SimpleUploadedFile("message.eml", make_message(), content_type="message/rfc822")
    response = Client().post(url(token), {"email": upload})
    assert response.json()["status"] == "created"


def test_a_form_without_the_message(token: str) -> None:
    response = Client().post(url(token), {"text": "hello"})
    assert response.status_code == 400
    assert response.json()["reason"] == services.NO_EMAIL_FIELD
    assert not InboundEmail.objects.exists()


@pytest.mark.parametrize("token_of", ["wrong", "inactive"])
def test_a_wrong_or_inactive_token_is_404(
    mailbox: Mailbox, token: str, make_message: MakeMessage, token_of: str
) -> None:
    if token_of == "inactive":
        Mailbox.objects.filter(pk=mailbox.pk).update(is_active=False)
    else:
        token = "not-" + token
    response = Client().post(url(token), make_message(), content_type="message/rfc822")
    assert response.status_code == 404
    assert not InboundEmail.objects.exists()


def test_only_post(token: str) -> None:
    assert Client().get(url(token)).status_code == 405


def test_rejected_and_duplicate_messages_are_answered_200(
    token: str, make_message: MakeMessage
) -> None:
    client = Client()
    response = client.post(url(token), b"no headers at all", content_type="message/rfc822")
    assert (response.status_code, response.json()["status"]) == (200, "rejected")
    raw = make_message()
    first = client.post(url(token), raw, content_type="message/rfc822").json()
    again = client.post(url(token), raw, content_type="message/rfc822")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["inbound"] == first["inbound"]


def test_too_large_is_413_and_what_fits_is_kept(
    token: str, make_message: MakeMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_MESSAGE_BYTES", 2000)
    raw = make_message(body="y" * 5000)
    response = Client().post(url(token), raw, content_type="message/rfc822")
    assert response.status_code == 413
    body = response.json()
    assert body["status"] == "rejected"
    assert (
        body["reason"] == f"The message is too large ({len(raw)} bytes; at most 2000 are accepted)."
    )
    inbound = InboundEmail.objects.get(pk=body["inbound"])
    assert (len(bytes(inbound.raw)), inbound.size) == (2000, len(raw))


def test_a_message_larger_than_django_form_limit_is_accepted(
    token: str, make_message: MakeMessage, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = make_message(body="z" * 3000)
    response = Client().post(url(token), raw, content_type="message/rfc822")
    assert response.json()["status"] == "created"


def test_a_nul_byte_in_a_posted_message_is_stored_not_refused(
    token: str, make_message: MakeMessage
) -> None:
    """The NUL guard (crm.middleware) refuses NULs in the app's forms; a message posted to
    the mailbox is stored first, whatever it holds, and judged after."""
    raw = make_message(body="before\x00after")
    response = Client().post(url(token), {"email": raw.decode(), "to": "sales@crm.test"})
    assert response.status_code == 200
    assert InboundEmail.objects.get().size == len(raw)
    assert response.json()["status"] in {"created", "rejected"}
    assert Client().get("/leads/?q=a%00b").status_code in {302, 400}  # elsewhere: refused
