from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_sign_in_with_email_in_any_case(client: Client, rep: User) -> None:
    response = sign_in(client, rep.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).context["user"] == rep


def test_wrong_password_shows_an_error_in_place(client: Client, rep: User) -> None:
    response = sign_in(client, rep.email, "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()


def test_sign_in_is_throttled_after_repeated_failures(client: Client, rep: User) -> None:
    for _ in range(5):
        sign_in(client, rep.email, "wrong-password")
    response = sign_in(client, rep.email, PASSWORD)  # even the right password is refused now
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "spelling",
    [
        str.upper,
        str.title,
        lambda email: f"  {email.upper()}  ",
        lambda email: f"\t{email}\n",
        # The login form NFKC-normalises: a fullwidth letter is the same account.
        lambda email: chr(ord(email[0]) - ord("a") + 0xFF41) + email[1:],
    ],
    ids=["upper", "title", "spaces", "tab-newline", "fullwidth"],
)
def test_a_lockout_holds_for_every_spelling_of_the_email(
    client: Client, rep: User, spelling
) -> None:
    assert rep.email == rep.email.lower()
    variant = spelling(rep.email)
    # The spelling does sign in while nothing is locked (so refusing it below is the lock).
    assert sign_in(Client(), variant, PASSWORD).status_code == 302
    for _ in range(5):
        sign_in(client, rep.email, "wrong-password")
    for attempt in (variant, rep.email.upper(), rep.email):
        response = sign_in(client, attempt, PASSWORD)
        assert response.status_code == 429, attempt
        assert "_auth_user_id" not in client.session


def test_failures_in_different_spellings_add_up_to_one_lockout(client: Client, rep: User) -> None:
    for spelling in (rep.email, rep.email.upper(), f" {rep.email} ", rep.email.title()):
        assert sign_in(client, spelling, "wrong-password").status_code == 200
    assert sign_in(client, rep.email.capitalize(), "wrong-password").status_code == 429  # fifth
    response = sign_in(client, rep.email.swapcase(), PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_of_one_account_leaves_others_alone(
    client: Client, rep: User, rep_b: User
) -> None:
    for _ in range(5):
        sign_in(client, rep.email.upper(), "wrong-password")
    assert sign_in(client, rep_b.email.upper(), PASSWORD).status_code == 302


def test_a_disabled_user_cannot_sign_in(client: Client, rep: User) -> None:
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    response = sign_in(client, rep.email, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_user_disabled_mid_session_is_signed_out(client: Client, rep: User) -> None:
    client.force_login(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    response = client.get(reverse("home"))
    assert response.status_code == 302


def test_sign_out_needs_a_post_and_says_so(client: Client, rep: User) -> None:
    client.force_login(rep)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert "You are signed out." in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_change_password(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-secret-9",
            "new_password2": "a-new-long-secret-9",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a-new-long-secret-9")


def test_reset_password_by_email(client: Client, rep: User) -> None:
    response = client.post(reverse("password_reset"), {"email": rep.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    form_url = client.get(path, follow=True).redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"}
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("brand-new-secret-42")


def test_reset_for_an_unknown_address_reveals_nothing(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_login_page_is_csrf_protected(rep: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": rep.email, "password": PASSWORD})
    assert response.status_code == 403
