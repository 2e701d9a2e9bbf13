"""Reschedule as the pages post it: each form is read from the rendered HTML and sent the
way a browser sends it (every field of that form, plus the name of the button clicked), so
a prefilled time field next to "+1 day" cannot swallow the shift again."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.forms import RescheduleForm
from crm.followups.models import Task
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@dataclass
class PageForm:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """Every form on a page: its action, its fields (name → value) and its buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []
        self._open: PageForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._open = PageForm(action=a.get("action", ""))
            self.forms.append(self._open)
        elif self._open is not None and tag == "button" and a.get("type", "submit") == "submit":
            self._open.buttons.append((a.get("name", ""), a.get("value", "")))
        elif self._open is not None and tag in ("input", "textarea") and a.get("name"):
            self._open.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_on(client: Client, page: str) -> list[PageForm]:
    parser = _Forms()
    parser.feed(client.get(page).content.decode())
    return parser.forms


def click(client: Client, page: str, action: str, button: tuple[str, str]) -> str:
    """Load ``page``, find the form posting to ``action`` with ``button``, and click it."""
    for form in forms_on(client, page):
        if form.action == action and button in form.buttons:
            data = {**form.fields, button[0]: button[1]}
            return client.post(action, data, follow=True).content.decode()
    raise AssertionError(f"no form on {page} posts to {action} with the button {button}")


@pytest.fixture
def berliner(team: object) -> User:
    return make_user(email="berlin-tasks@example.com", timezone="Europe/Berlin")


def _task(user: User, due: datetime) -> Task:
    return followups.task_create(actor=user, title="Call back", due_at=due)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", ["list", "detail"])
@pytest.mark.parametrize(("shift", "days"), [("day", 1), ("week", 7)])
def test_the_shift_buttons_on_the_page_move_the_due_date(
    berliner: User, page: str, shift: str, days: int
) -> None:
    due = timezone.now() + timedelta(days=2)
    task = _task(berliner, due)
    client = _client(berliner)
    url = reverse("tasks:list") if page == "list" else reverse("tasks:detail", args=[task.pk])
    html = click(client, url, reverse("tasks:reschedule", args=[task.pk]), ("shift", shift))
    task.refresh_from_db()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    moved = due.astimezone(berlin) + timedelta(days=days)
    assert task.due_at.astimezone(berlin).date() == moved.date()
    assert task.due_at.astimezone(berlin).strftime("%H:%M") == moved.strftime("%H:%M")
    assert "Rescheduled" in html


@pytest.mark.parametrize("page", ["list", "detail"])
def test_set_on_the_page_moves_to_the_time_picked(berliner: User, page: str) -> None:
    task = _task(berliner, timezone.now() + timedelta(days=2))
    client = _client(berliner)
    url = reverse("tasks:list") if page == "list" else reverse("tasks:detail", args=[task.pk])
    action = reverse("tasks:reschedule", args=[task.pk])
    (form,) = [f for f in forms_on(client, url) if f.action == action and "due_at" in f.fields]
    assert not any(name == "shift" for name, _ in form.buttons)
    data = {**form.fields, "due_at": "2031-01-10T09:30"}
    client.post(action, data)
    task.refresh_from_db()
    assert task.due_at == datetime(2031, 1, 10, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


def test_a_clicked_shift_wins_over_the_time_field_sent_with_it(berliner: User) -> None:
    """An older page (or any client) that sends both: the clicked button is the intent."""
    due = timezone.now() + timedelta(days=3)
    task = _task(berliner, due)
    with timezone.override("Europe/Berlin"):
        form = RescheduleForm(
            {
                "shift": "day",
                "due_at": timezone.localtime(due).strftime("%Y-%m-%dT%H:%M"),
                "version": task.version,
            }
        )
        assert form.is_valid(), form.errors
        assert form.new_due(task).date() == timezone.localtime(due).date() + timedelta(days=1)
