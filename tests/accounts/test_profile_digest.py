"""The daily digest's on/off switch and hour, on the profile page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_profile(client: Client, **fields: str) -> object:
    data = {"first_name": "Ann", "last_name": "Rep", "timezone": "Europe/Paris", **fields}
    return client.post(reverse("profile"), data, follow=True)


def test_the_profile_shows_the_digest_settings(rep: User) -> None:
    page = logged_in(rep).get(reverse("profile")).content.decode()
    assert "Daily digest" in page
    assert 'name="digest_enabled"' in page
    assert 'name="digest_hour"' in page
    assert '<option value="8" selected>08:00</option>' in page


def test_a_user_turns_the_digest_off_and_back_on_at_another_hour(rep: User) -> None:
    client = logged_in(rep)
    response = post_profile(client, digest_hour="8")  # the box unticked
    assert "Your profile was saved." in response.content.decode()
    rep.refresh_from_db()
    assert rep.digest_enabled is False

    post_profile(client, digest_enabled="on", digest_hour="6")
    rep.refresh_from_db()
    assert (rep.digest_enabled, rep.digest_hour, rep.timezone) == (True, 6, "Europe/Paris")


def test_an_impossible_hour_is_refused_in_place(rep: User) -> None:
    response = post_profile(logged_in(rep), digest_enabled="on", digest_hour="24")
    page = response.content.decode()
    assert "Select a valid choice. 24 is not one of the available choices." in page
    rep.refresh_from_db()
    assert rep.digest_hour == 8


def test_a_post_without_the_hour_keeps_it(rep: User) -> None:
    User.objects.filter(pk=rep.pk).update(digest_hour=7)
    post_profile(logged_in(rep), digest_enabled="on")
    rep.refresh_from_db()
    assert (rep.digest_enabled, rep.digest_hour) == (True, 7)


def test_the_profile_is_only_ever_ones_own(rep: User, rep_b: User) -> None:
    post_profile(logged_in(rep), digest_hour="5", email=rep_b.email)
    rep_b.refresh_from_db()
    assert rep_b.digest_hour == 8
    rep.refresh_from_db()
    assert rep.email == "rep.a@example.com"
