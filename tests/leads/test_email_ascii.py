"""A lead's email: letters outside ASCII before the @ are refused with a message that says
why (RFC 6531 allows them, most mailboxes cannot take them, and our mail has no SMTPUTF8);
an internationalised domain is accepted; any other bad address keeps Django's message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from leads.forms import EMAIL_LOCAL_PART_NOT_ASCII
from leads.models import Lead

pytestmark = pytest.mark.django_db


def _post(user: User, email: str) -> str:
    client = Client()
    client.force_login(user)
    data = {"first_name": "Lucía", "last_name": "Müller", "email": email}
    return client.post(reverse("leads:create"), data).content.decode()


def test_an_accented_name_before_the_at_is_refused_and_the_form_says_why(rep: User) -> None:
    html = _post(rep, "lucía@kestrel-legal.com")
    assert EMAIL_LOCAL_PART_NOT_ASCII.replace("'", "&#x27;") in html
    assert "Enter a valid email address." not in html
    assert not Lead.objects.exists()


def test_an_internationalised_domain_is_accepted(rep: User) -> None:
    _post(rep, "lucia@bücher.example")
    assert Lead.objects.get().email == "lucia@bücher.example"


def test_another_bad_address_keeps_the_usual_message(rep: User) -> None:
    html = _post(rep, "lucia@@example.com")
    assert "Enter a valid email address." in html
    assert not Lead.objects.exists()
