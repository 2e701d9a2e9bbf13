"""The daily digest: what it says (each section, scoped and bounded), when it is sent (the
user's own morning, in their timezone), once a day, never empty, never when turned off.
Time is injected (``at=``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from crm.followups import digest
from crm.followups import services as followups
from crm.followups.models import Task
from crm.followups.tasks import remind_digests
from crm.models import Notification
from crm.notifications import dispatch_emails, notify_many, send_emails
from deals import services as deal_services
from deals.models import Deal
from leads import services
from leads.models import Lead
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

# Sunday 8 June 2025, 23:00 UTC: Monday 9 June, 08:00 in Tokyo (a new week there, not in UTC).
AT = datetime(2025, 6, 8, 23, 0, tzinfo=UTC)
TOKYO_DAY = date(2025, 6, 9)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # The digest remembers empty days in the cache; each test starts without that memory.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tokyo(rep: User) -> User:
    User.objects.filter(pk=rep.pk).update(timezone="Asia/Tokyo", digest_hour=8)
    return User.objects.get(pk=rep.pk)


def task(actor: User, title: str, due: datetime, **fields: object) -> Task:
    return followups.task_create(actor=actor, title=title, due_at=due, **fields)


def digest_of(user: User) -> Notification | None:
    return Notification.objects.filter(user=user, kind=Notification.Kind.DIGEST).first()


def sent(at: datetime) -> list[mail.EmailMultiAlternatives]:
    mail.outbox.clear()
    send_emails(dispatch_emails(at=at))
    return list(mail.outbox)


@pytest.fixture
def busy_day(tokyo: User, rep_b: User, manager: User, other_manager: User) -> dict[str, object]:
    """Something in every section for the Tokyo rep, and decoys that must not show."""
    waiting = make_lead(tokyo, first_name="Wanda", last_name="Waits", company="Initech")
    pooled = make_lead(manager, first_name="Paul", last_name="Pool")  # the team's pool
    make_lead(rep_b, first_name="Bea", last_name="Other")  # another rep's
    make_lead(other_manager, first_name="Sam", last_name="South")  # another team's pool

    idle = make_lead(tokyo, first_name="Ida", last_name="Idle")
    services.lead_change_status(lead=idle, actor=tokyo, status="contacted")
    planned = make_lead(tokyo, first_name="Pat", last_name="Planned")
    services.lead_change_status(lead=planned, actor=tokyo, status="contacted")
    services.lead_set_next_action(
        lead=planned, actor=tokyo, next_action="Call back", due=AT + timedelta(days=2)
    )

    today = task(tokyo, "Call Wanda", utc(2025, 6, 9, 5, 0), kind="call", lead=waiting)
    late_tonight = task(tokyo, "Prepare the demo", utc(2025, 6, 9, 14, 30))  # 23:30 Tokyo
    overdue = task(tokyo, "Send pricing", utc(2025, 6, 8, 9, 0), kind="email")
    task(tokyo, "Tomorrow's call", utc(2025, 6, 10, 1, 0))
    done = task(tokyo, "Already done", utc(2025, 6, 9, 3, 0))
    followups.task_complete(task=done, actor=tokyo)
    task(rep_b, "Not mine", utc(2025, 6, 9, 5, 0))

    ensure_stages()
    closing = make_deal(tokyo, company="Umbrella", email="u@umbrella.example.com")
    deal_services.deal_update(
        deal=closing, actor=tokyo, expected_version=None, expected_close_date=date(2025, 6, 12)
    )
    last_week = make_deal(tokyo, company="Stark", email="s@stark.example.com")
    deal_services.deal_update(
        deal=last_week, actor=tokyo, expected_version=None, expected_close_date=date(2025, 6, 6)
    )
    theirs = make_deal(rep_b, company="Wayne", email="w@wayne.example.com")
    deal_services.deal_update(
        deal=theirs, actor=rep_b, expected_version=None, expected_close_date=date(2025, 6, 12)
    )
    return {
        "waiting": waiting,
        "pooled": pooled,
        "idle": idle,
        "today": today,
        "late_tonight": late_tonight,
        "overdue": overdue,
        "closing": Deal.objects.get(pk=closing.pk),
    }


# --- What it says ---------------------------------------------------------------------------


def test_each_section_lists_the_users_own_work_in_their_day_and_week(
    tokyo: User, busy_day: dict[str, object]
) -> None:
    result = digest.digest_for(tokyo, AT)
    assert result.day == TOKYO_DAY
    assert result.week == (date(2025, 6, 9), date(2025, 6, 15))
    # "Today" is Tokyo's Monday: 23:30 there is still today, though it is Monday in UTC.
    assert result.tasks_today.items == [busy_day["today"], busy_day["late_tonight"]]
    assert result.tasks_overdue.items == [busy_day["overdue"]]
    assert result.leads_waiting.items == [busy_day["waiting"], busy_day["pooled"]]
    assert result.leads_without_next_action.items == [busy_day["idle"]]
    assert result.deals_closing.items == [busy_day["closing"]]
    assert [section.total for section in result.sections] == [2, 1, 1, 2, 1]
    assert not result.is_empty
    assert result.subject == (
        "Your day: 2 tasks today, 1 overdue, 2 leads waiting, 1 without a next action, "
        "1 deal closing this week"
    )


def test_lists_are_bounded_with_their_totals(
    tokyo: User, django_assert_max_num_queries: object
) -> None:
    for i in range(digest.DIGEST_LIST_SIZE + 5):
        task(tokyo, f"Late {i}", AT - timedelta(hours=i + 1))
    tokyo = User.objects.get(pk=tokyo.pk)  # no cached scope
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        result = digest.digest_for(tokyo, AT)
    assert len(result.tasks_overdue.items) == digest.DIGEST_LIST_SIZE
    assert result.tasks_overdue.total == digest.DIGEST_LIST_SIZE + 5
    assert result.tasks_overdue.more == 5
    assert result.tasks_overdue.items[0].title == f"Late {digest.DIGEST_LIST_SIZE + 4}"  # oldest

    digest.digests_dispatch(at=AT)
    text = digest_of(tokyo).email_text
    assert "… and 5 more" in text


def test_a_manager_gets_their_own_tasks_not_the_teams(manager: User, rep: User) -> None:
    noon = utc(2025, 6, 9, 12, 0)  # the manager is in UTC
    task(rep, "The rep's call", noon + timedelta(hours=1))
    mine = task(manager, "My review", noon + timedelta(hours=2))
    result = digest.digest_for(manager, noon)
    assert result.tasks_today.items == [mine]


# --- When it is sent ------------------------------------------------------------------------


def test_it_comes_at_eight_in_the_users_timezone_not_before(
    tokyo: User, busy_day: dict[str, object]
) -> None:
    digest.digests_dispatch(at=AT - timedelta(minutes=1))  # 07:59 in Tokyo
    assert digest_of(tokyo) is None

    digest.digests_dispatch(at=AT)
    notification = digest_of(tokyo)
    assert notification is not None
    assert notification.key == "digest:2025-06-09"  # Tokyo's date, not UTC's 8 June
    assert notification.title.startswith("Your day: 2 tasks today")


def test_it_is_made_once_a_day_however_often_the_beat_runs(
    tokyo: User, busy_day: dict[str, object]
) -> None:
    for minutes in (0, 5, 10, 600):
        digest.digests_dispatch(at=AT + timedelta(minutes=minutes))
    assert Notification.objects.filter(user=tokyo, kind=Notification.Kind.DIGEST).count() == 1
    cache.clear()  # the memory of empty days is only a shortcut
    digest.digests_dispatch(at=AT + timedelta(hours=1))
    assert Notification.objects.filter(user=tokyo, kind=Notification.Kind.DIGEST).count() == 1
    digest.digests_dispatch(at=AT + timedelta(days=1))
    keys = Notification.objects.filter(user=tokyo, kind=Notification.Kind.DIGEST)
    assert sorted(keys.values_list("key", flat=True)) == ["digest:2025-06-09", "digest:2025-06-10"]


def test_two_runs_racing_make_one_digest(tokyo: User, busy_day: dict[str, object]) -> None:
    # Both built it before either saved: the unique key keeps one.
    built = digest.digest_for(tokyo, AT)
    first = digest.digest_notification(built, AT)
    second = digest.digest_notification(built, AT + timedelta(seconds=1))
    notify_many([first])
    notify_many([second])
    assert Notification.objects.filter(user=tokyo, kind=Notification.Kind.DIGEST).count() == 1


def _cache_table() -> str | None:
    """The table of the zero-setup DatabaseCache (no REDIS_URL), or None for Redis."""
    config = settings.CACHES["default"]
    return config["LOCATION"] if config["BACKEND"].endswith(".DatabaseCache") else None


def test_nothing_to_say_sends_nothing_and_is_not_rebuilt_all_day(tokyo: User) -> None:
    assert digest.digest_for(tokyo, AT).is_empty
    assert digest.digests_dispatch(at=AT) == 0
    assert digest_of(tokyo) is None
    assert sent(AT + timedelta(minutes=1)) == []
    # The next beats only look the users up: the empty day is remembered. The cache's own
    # reads are counted apart: Redis makes none in PostgreSQL, the database cache one.
    with CaptureQueriesContext(connection) as queries:
        assert digest.digests_due(AT + timedelta(minutes=5)) == []
    table = _cache_table()
    cache_reads = [q for q in queries.captured_queries if table and table in q["sql"]]
    assert len(queries.captured_queries) - len(cache_reads) <= 2
    assert len(cache_reads) == (1 if table else 0)


def test_turned_off_means_nothing(tokyo: User, busy_day: dict[str, object]) -> None:
    User.objects.filter(pk=tokyo.pk).update(digest_enabled=False)
    digest.digests_dispatch(at=AT + timedelta(hours=3))
    assert digest_of(tokyo) is None


def test_a_deactivated_user_gets_nothing(tokyo: User, busy_day: dict[str, object]) -> None:
    User.objects.filter(pk=tokyo.pk).update(is_active=False)
    digest.digests_dispatch(at=AT + timedelta(hours=3))
    assert digest_of(tokyo) is None


def test_a_later_hour_is_respected(tokyo: User, busy_day: dict[str, object]) -> None:
    User.objects.filter(pk=tokyo.pk).update(digest_hour=17)
    digest.digests_dispatch(at=AT + timedelta(hours=8, minutes=59))  # 16:59 in Tokyo
    assert digest_of(tokyo) is None
    digest.digests_dispatch(at=AT + timedelta(hours=9))
    assert digest_of(tokyo) is not None


# --- The email ------------------------------------------------------------------------------


def test_the_email_has_text_and_html_in_the_users_time_with_links(
    tokyo: User, busy_day: dict[str, object]
) -> None:
    digest.digests_dispatch(at=AT)
    emails = [email for email in sent(AT + timedelta(minutes=1)) if email.to == [tokyo.email]]
    assert len(emails) == 1
    email = emails[0]
    assert email.subject.startswith("Your day: 2 tasks today, 1 overdue")
    waiting = busy_day["waiting"]
    today = busy_day["today"]
    assert isinstance(waiting, Lead)
    assert isinstance(today, Task)
    body = email.body
    assert "Monday 9 June 2025 (Asia/Tokyo)" in body
    assert f"14:00 Call: Call Wanda ({waiting})" in body  # 05:00 UTC is 14:00 in Tokyo
    assert "23:30 To-do: Prepare the demo" in body
    assert "was due Sun 8 Jun, 18:00" in body
    assert f"{settings.SITE_URL}{today.get_absolute_url()}" in body
    assert f"{settings.SITE_URL}{waiting.get_absolute_url()}" in body
    assert "Umbrella" in body
    assert "Thu 12 Jun" in body
    assert "Ida Idle" in body
    assert "Paul Pool" in body
    assert "(unassigned)" in body
    assert "Bea Other" not in body
    assert "Sam South" not in body
    assert "Not mine" not in body
    content, mimetype = email.alternatives[0]
    html = str(content)
    assert mimetype == "text/html"
    assert f'href="{settings.SITE_URL}{waiting.get_absolute_url()}"' in html
    assert "Wanda Waits" in html
    assert sent(AT + timedelta(hours=1)) == []  # sent once


def test_user_input_is_escaped_in_the_html(tokyo: User) -> None:
    task(tokyo, "<script>alert(1)</script>", AT + timedelta(hours=1))
    digest.digests_dispatch(at=AT)
    notification = digest_of(tokyo)
    assert notification is not None
    assert "<script>" not in notification.email_html
    assert "&lt;script&gt;" in notification.email_html
    assert "<script>alert(1)</script>" in notification.email_text  # plain text stays plain


def test_the_beat_task_sends_todays_digests(rep: User) -> None:
    User.objects.filter(pk=rep.pk).update(digest_hour=0)  # any time today is past 00:00
    task(rep, "Overdue", utc(2025, 1, 1, 9, 0))
    assert remind_digests() >= 1
    assert digest_of(rep) is not None
    assert remind_digests() == 0
