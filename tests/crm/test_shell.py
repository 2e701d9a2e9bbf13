"""The app shell: navigation, timezone, messages, error pages, static assets, CSP."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_admin_link_only_for_admins(client: Client, rep: User, manager: User, admin: User) -> None:
    for user, sees_admin in ((rep, False), (manager, False), (admin, True)):
        client.force_login(user)
        html = client.get(reverse("home")).content.decode()
        assert ('href="/admin/"' in html) is sees_admin, user.email


def test_shell_shows_the_user_and_their_timezone(client: Client, rep: User) -> None:
    rep.timezone = "America/New_York"
    rep.save(update_fields=["timezone"])
    client.force_login(rep)
    html = client.get(reverse("home")).content.decode()
    assert rep.first_name in html
    assert "America/New_York" in html
    assert 'hx-headers=\'{"X-CSRFToken":' in html


def test_assets_come_from_our_own_static_files(client: Client, rep: User) -> None:
    client.force_login(rep)
    html = client.get(reverse("home")).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "//cdn" not in html
    assert "https://" not in html


def test_pages_carry_a_content_security_policy(client: Client) -> None:
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_not_found_page_is_in_the_app_style(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "navbar" in html


def test_server_error_page_renders_without_a_request_context() -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html


def test_user_input_is_escaped(client: Client, rep: User) -> None:
    rep.first_name = "<script>alert(1)</script>"
    rep.save(update_fields=["first_name"])
    client.force_login(rep)
    html = client.get(reverse("home")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
