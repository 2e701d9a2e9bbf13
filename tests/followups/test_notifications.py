"""The bell and the notifications page: the unread count (one query, only where it is
shown), one's own notifications only, mark all read, and opening one (marked read, and
never a redirect off the site)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.models import Notification
from crm.notifications import notify

pytestmark = pytest.mark.django_db


def client_for(user: User, **kwargs: bool) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def tell(user: User, key: str, url: str = "/tasks/", **fields: object) -> Notification:
    notification = notify(
        user=user,
        kind=fields.pop("kind", Notification.Kind.REMINDER),
        key=key,
        title=fields.pop("title", f"About {key}"),
        url=url,
        **fields,
    )
    assert notification is not None
    return notification


def test_the_bell_counts_ones_own_unread(rep: User, rep_b: User) -> None:
    client = client_for(rep)
    html = client.get(reverse("tasks:list")).content.decode()
    assert 'aria-label="Notifications: none unread"' in html
    assert 'id="notification-count"' not in html
    tell(rep, "one")
    tell(rep, "two")
    read = tell(rep, "three")
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    tell(rep_b, "not yours")
    html = client.get(reverse("tasks:list")).content.decode()
    assert 'aria-label="Notifications: 2 unread"' in html
    assert (
        '<span class="badge rounded-pill text-bg-danger" id="notification-count">2</span>' in html
    )


def test_the_bell_says_99_plus_past_99(rep: User) -> None:
    Notification.objects.bulk_create(
        Notification(user=rep, kind="reminder", key=f"k{i}", title="x") for i in range(120)
    )
    html = client_for(rep).get(reverse("notifications:list")).content.decode()
    assert 'aria-label="Notifications: 99+ unread"' in html


def test_the_bell_is_counted_with_the_signed_in_user_not_by_a_query_of_its_own(
    rep: User,
) -> None:
    client = client_for(rep)
    for url, headers in [
        (reverse("tasks:list"), {}),
        (reverse("leads:list"), {}),
        (reverse("tasks:list"), {"HTTP_HX_REQUEST": "true"}),
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, **headers).status_code == 200
        counting = [q["sql"] for q in queries.captured_queries if "crm_notification" in q["sql"]]
        assert len(counting) == 1
        assert '"accounts_user"' in counting[0]  # the session's user query carries it


def test_the_bell_is_not_shown_to_anonymous_visitors(db: None) -> None:
    html = Client().get(reverse("login")).content.decode()
    assert "notification-bell" not in html
    assert Client().get(reverse("notifications:list")).status_code == 302


def test_the_page_lists_ones_own_newest_first_unread_highlighted(rep: User, rep_b: User) -> None:
    old = tell(rep, "old", title="Older reminder")
    Notification.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=2), read_at=timezone.now()
    )
    tell(rep, "new", title="Newer <b>reminder</b>")
    tell(rep_b, "other", title="Rep B's secret")
    response = client_for(rep).get(reverse("notifications:list"))
    html = response.content.decode()
    assert [n.title for n in response.context["page"].rows] == [
        "Newer <b>reminder</b>",
        "Older reminder",
    ]
    assert "Rep B's secret" not in html
    assert "Newer &lt;b&gt;reminder&lt;/b&gt;" in html  # escaped
    assert html.count("list-group-item-primary") == 1  # only the unread one


def test_the_page_is_paginated(rep: User) -> None:
    start = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            user=rep,
            kind="reminder",
            key=f"k{i}",
            title=f"N{i}",
            created_at=start + timedelta(seconds=i),
        )
        for i in range(35)
    )
    client = client_for(rep)
    first = client.get(reverse("notifications:list"))
    assert len(first.context["page"].rows) == 30
    assert first.context["page"].rows[0].title == "N34"
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("notifications:list") + f"?cursor={cursor}")
    assert [n.title for n in second.context["page"].rows] == [f"N{i}" for i in range(4, -1, -1)]
    assert client.get(reverse("notifications:list") + "?cursor=garbage").status_code == 200


def test_empty_state(rep: User) -> None:
    html = client_for(rep).get(reverse("notifications:list")).content.decode()
    assert "No notifications." in html


def test_mark_all_read_touches_only_ones_own(rep: User, rep_b: User) -> None:
    tell(rep, "a")
    tell(rep, "b")
    theirs = tell(rep_b, "c")
    response = client_for(rep).post(reverse("notifications:read_all"), follow=True)
    assert "Marked 2 notifications read." in response.content.decode()
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client_for(rep).post(reverse("notifications:read_all"), follow=True)
    assert "Nothing unread." in response.content.decode()


def test_mark_all_read_is_a_csrf_protected_post(rep: User) -> None:
    tell(rep, "a")
    client = client_for(rep, enforce_csrf_checks=True)
    assert client.post(reverse("notifications:read_all")).status_code == 403
    assert client_for(rep).get(reverse("notifications:read_all")).status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_open_marks_read_and_follows_the_link(rep: User) -> None:
    notification = tell(rep, "go", url="/tasks/12/")
    response = client_for(rep).get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/tasks/12/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example/phish",
        "javascript:alert(1)",
        "",
    ],
)
def test_open_never_redirects_off_the_site(rep: User, url: str) -> None:
    notification = tell(rep, f"bad {url}", url=url)
    response = client_for(rep).get(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == reverse("notifications:list")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_is_a_404(rep: User, rep_b: User) -> None:
    theirs = tell(rep_b, "theirs")
    assert client_for(rep).get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client_for(rep).get("/notifications/abc/open/").status_code == 404
