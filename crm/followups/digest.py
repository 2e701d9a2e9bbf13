"""The daily digest: one email each morning, in the user's own timezone, with what needs them
today — tasks due today, overdue tasks, their open leads without a next action, new leads
waiting for a first contact, and their deals expected to close this week.

``digests_dispatch`` runs every few minutes (beat). A user whose local time is past their
digest hour and who has no digest for their local date yet gets one: a DIGEST notification
with the rendered email, keyed ``digest:<local date>`` (unique per user), so two beats at
once still make one. A day with nothing to say sends nothing; that it was checked is
remembered in the cache until the local day is over, so the scan does not rebuild an empty
digest every five minutes. (If the cache is flushed, the day is checked again, and a digest
goes out later that day only if there is something to say by then.)
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import User
from crm.followups.models import Task
from crm.models import Notification
from crm.notifications import build_notification, notify_many, render_email
from deals.models import Deal
from leads.models import Lead

# Each list shows at most this many, with the total beside it.
DIGEST_LIST_SIZE = 20


@dataclass
class Section:
    """A bounded list and how many there are in all."""

    items: list[Any] = field(default_factory=list)
    total: int = 0

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass
class Digest:
    user: User
    day: date  # the user's local date
    tasks_today: Section
    tasks_overdue: Section
    leads_without_next_action: Section
    leads_waiting: Section
    deals_closing: Section
    week: tuple[date, date]  # Monday and Sunday of the user's week

    @property
    def is_empty(self) -> bool:
        return not any(self.sections)

    @property
    def sections(self) -> list[Section]:
        return [
            self.tasks_today,
            self.tasks_overdue,
            self.leads_without_next_action,
            self.leads_waiting,
            self.deals_closing,
        ]

    @property
    def subject(self) -> str:
        """e.g. "Your day: 3 tasks today, 2 overdue, 4 leads waiting"."""
        parts = []
        if self.tasks_today:
            parts.append(_plural(self.tasks_today.total, "task") + " today")
        if self.tasks_overdue:
            parts.append(f"{self.tasks_overdue.total} overdue")
        if self.leads_waiting:
            parts.append(_plural(self.leads_waiting.total, "lead") + " waiting")
        if self.leads_without_next_action:
            parts.append(f"{self.leads_without_next_action.total} without a next action")
        if self.deals_closing:
            parts.append(_plural(self.deals_closing.total, "deal") + " closing this week")
        return "Your day: " + ", ".join(parts) if parts else "Your day: nothing due"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _section(queryset: Any) -> Section:
    """The first ``DIGEST_LIST_SIZE`` rows; counted only when there may be more."""
    items = list(queryset[: DIGEST_LIST_SIZE + 1])
    if len(items) <= DIGEST_LIST_SIZE:
        return Section(items=items, total=len(items))
    return Section(items=items[:DIGEST_LIST_SIZE], total=queryset.count())


def local_day(user: User, at: datetime) -> tuple[date, datetime, datetime]:
    """The user's local date at ``at``, and when that day starts and ends (aware)."""
    tz = zoneinfo.ZoneInfo(user.timezone or "UTC")
    day = at.astimezone(tz).date()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return day, start, end


def digest_for(user: User, at: datetime | None = None) -> Digest:
    """What the digest would tell ``user`` at ``at``: everything through the row-level
    rules, each list bounded (10 queries at most, whatever the numbers)."""
    at = at or now()
    day, _, day_end = local_day(user, at)
    monday = day - timedelta(days=day.weekday())
    sunday = monday + timedelta(days=6)

    tasks = (
        Task.objects.visible_to(user)
        .open()
        .filter(assignee=user)
        .select_related("lead", "deal")
        .order_by("due_at", "id")
    )
    leads = Lead.objects.visible_to(user)
    waiting = Q(status=Lead.Status.NEW, first_contacted_at__isnull=True)
    return Digest(
        user=user,
        day=day,
        week=(monday, sunday),
        tasks_today=_section(tasks.filter(due_at__gte=at, due_at__lt=day_end)),
        # Overdue as the task list says it: due before now. Oldest first.
        tasks_overdue=_section(tasks.filter(due_at__lt=at)),
        # Leads waiting for their first contact are listed below, not twice.
        leads_without_next_action=_section(
            leads.filter(owner=user, status__in=Lead.OPEN_STATUSES, next_action_due__isnull=True)
            .exclude(waiting)
            .order_by("created_at", "id")
        ),
        # Theirs, and the unassigned ones they could claim; waiting longest first.
        leads_waiting=_section(
            leads.filter(waiting)
            .filter(Q(owner=user) | Q(owner__isnull=True))
            .order_by("created_at", "id")
        ),
        deals_closing=_section(
            Deal.objects.visible_to(user)
            .filter(
                owner=user,
                closed_at__isnull=True,
                expected_close_date__gte=monday,
                expected_close_date__lte=sunday,
            )
            .select_related("stage")
            .order_by("expected_close_date", "id")
        ),
    )


def digest_key(day: date) -> str:
    return f"digest:{day.isoformat()}"


def _checked_key(user_id: int, day: date) -> str:
    return f"digest-checked:{user_id}:{day.isoformat()}"


def digest_notification(digest: Digest, at: datetime) -> Notification:
    """The digest as an unsaved notification with its email, in the user's timezone."""
    context = {
        "digest": digest,
        "url": reverse("tasks:list"),
        "leads_url": reverse("leads:list"),
        "profile_url": reverse("profile"),
        "now": at,
    }
    email = render_email("digest", context, user=digest.user)
    return build_notification(
        user=digest.user,
        kind=Notification.Kind.DIGEST,
        key=digest_key(digest.day),
        title=email.subject,
        url=reverse("tasks:list"),
        email=email,
        at=at,
    )


def digests_due(at: datetime) -> list[tuple[User, date, datetime]]:
    """Users whose digest hour has come today (their time) and who have no digest for
    today yet: (user, local date, end of their local day)."""
    due = []
    for user in User.objects.filter(is_active=True, digest_enabled=True).order_by("pk"):
        day, start, end = local_day(user, at)
        if at >= start + timedelta(hours=user.digest_hour):
            due.append((user, day, end))
    if not due:
        return []
    keys = {digest_key(day) for _, day, _ in due}
    made = set(
        Notification.objects.filter(
            user_id__in=[user.pk for user, _, _ in due],
            kind=Notification.Kind.DIGEST,
            key__in=keys,
        ).values_list("user_id", "key")
    )
    checked = cache.get_many([_checked_key(user.pk, day) for user, day, _ in due])
    return [
        (user, day, end)
        for user, day, end in due
        if (user.pk, digest_key(day)) not in made and _checked_key(user.pk, day) not in checked
    ]


def digests_dispatch(*, at: datetime | None = None, batch: int = 100) -> int:
    """Send today's digest to everyone whose time has come; returns how many were made."""
    at = at or now()
    due = digests_due(at)
    made = 0
    for first in range(0, len(due), batch):
        chunk = due[first : first + batch]
        digests = [digest_for(user, at) for user, _, _ in chunk]
        with transaction.atomic():
            # Made once per user and day (unique key), however many runs get here at once.
            notify_many([digest_notification(d, at) for d in digests if not d.is_empty])
        made += sum(1 for d in digests if not d.is_empty)
        # Nothing to say: no need to look again today.
        cache.set_many(
            {
                _checked_key(user.pk, day): True
                for (user, day, _), digest in zip(chunk, digests, strict=True)
                if digest.is_empty
            },
            timeout=max(int((max(end for _, _, end in chunk) - at).total_seconds()), 0) + 3600,
        )
    return made
