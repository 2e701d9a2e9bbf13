"""Admins see every user's tokens in the Django admin, never a secret, and revoke them."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_an_admin_lists_and_revokes_tokens_without_seeing_them(admin: User, rep: User) -> None:
    token, secret = api_token_create(user=rep, name="Leaky script")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Leaky script" in page
    assert token.display_prefix in page
    assert secret not in page
    assert token.token_hash not in page
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.token_hash not in detail
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "Revoked 1 token(s)." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Api(secret).get("/leads").status_code == 401


def test_a_rep_has_no_token_admin(rep: User) -> None:
    api_token_create(user=rep, name="Mine")
    client = Client()
    client.force_login(rep)
    assert client.get("/admin/accounts/apitoken/").status_code == 302
    assert ApiToken.objects.get().revoked_at is None
