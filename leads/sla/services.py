"""The response-time target for new leads: when a lead must be contacted by, and the alerts
when it was not.

The clock: ``ResponseTarget`` gives the time (in minutes), and whether only working hours
count (working days, workday start and end, read in the target's own timezone). A lead's
deadline is worked out once, when it arrives (``sla_due_at``); changing the target applies to
leads that arrive afterwards, so nobody's deadline moves under them and nobody is alerted
about the past.

The scan (``sla_scan``, run every minute by beat): a new lead still waiting for its first
contact past ``sla_due_at`` alerts its owner once; an unassigned one alerts the managers of
its team (a lead with no team either is in everyone's pool, so every team's managers). If it
is still untouched ``escalate_after_minutes`` later (same clock), the owner's managers are told
once. Each alert is claimed like a reminder: the lead's row is locked with ``SKIP LOCKED``
and stamped in the transaction that creates the notifications, whose key is unique per user,
so two beats or a redelivered message alert nobody twice.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.timezone import now

from accounts.models import Membership, User
from accounts.roles import Role
from crm.models import Notification
from crm.notifications import build_notification, notify_many, render_email
from leads.models import Lead, ResponseTarget

# --- The clock ------------------------------------------------------------------------------


def add_target_minutes(start: datetime, minutes: int, target: ResponseTarget) -> datetime:
    """``start`` plus ``minutes`` on the target's clock: wall-clock time, or only the working
    hours of working days when the target says so (a lead arriving on Friday at 16:30 with
    an 8-hour target and a 9–17 Monday–Friday week is due on Monday at 16:30)."""
    if not target.business_hours_only or not target.working_days or minutes <= 0:
        return start + timedelta(minutes=minutes)
    tz = zoneinfo.ZoneInfo(target.timezone or "UTC")
    days = set(target.working_days)
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(tz)
    # Each pass consumes one working day (or skips a day off); a week has a working day.
    for _ in range(minutes // 60 * 7 + 14):
        day = cursor.date()
        opens = datetime.combine(day, target.workday_start, tzinfo=tz)
        closes = datetime.combine(day, target.workday_end, tzinfo=tz)
        if day.weekday() in days and cursor < closes:
            begin = max(cursor, opens)
            # Same tzinfo: wall-clock arithmetic, which is what "working hours" mean.
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    raise ValueError("The working week has no working hours.")  # pragma: no cover


def contact_deadline(start: datetime, target: ResponseTarget | None = None) -> datetime:
    """When a lead that arrived at ``start`` must have been contacted by."""
    target = target or ResponseTarget.current()
    return add_target_minutes(start, target.first_contact_minutes, target)


def escalation_deadline(lead: Lead, target: ResponseTarget | None = None) -> datetime | None:
    """When a lead still waiting is escalated to the manager: the further delay after its
    contact deadline, on the same clock. ``None`` for a lead without a deadline."""
    if lead.sla_due_at is None:
        return None
    target = target or ResponseTarget.current()
    return add_target_minutes(lead.sla_due_at, target.escalate_after_minutes, target)


def is_waiting(lead: Lead) -> bool:
    """Still waiting for its first contact (the only leads the target applies to)."""
    return lead.status == Lead.Status.NEW and lead.first_contacted_at is None


def is_breached(lead: Lead, at: datetime | None = None) -> bool:
    """Waiting past its deadline: flagged on the list and the lead's page."""
    return bool(is_waiting(lead) and lead.sla_due_at and lead.sla_due_at < (at or now()))


# --- Who is told ----------------------------------------------------------------------------


class Recipients:
    """Who hears about a lead. Lookups are remembered for one batch, so a batch of a
    thousand leads asks for each team's managers once, not once per lead."""

    def __init__(self) -> None:
        self._managers: dict[int | None, list[User]] = {}
        self._teams_of: dict[int, set[int]] = {}
        self._admins: list[User] | None = None

    def managers(self, team_id: int | None) -> list[User]:
        """The active managers of a team (``None``: of every team)."""
        if team_id not in self._managers:
            memberships = Membership.objects.filter(role=Membership.Role.MANAGER)
            if team_id is not None:
                memberships = memberships.filter(team_id=team_id)
            self._managers[team_id] = _active(
                User.objects.filter(pk__in=memberships.values("user_id"))
            )
        return self._managers[team_id]

    def admins(self) -> list[User]:
        """Who hears about a lead when no team has a manager: nobody is left out."""
        if self._admins is None:
            self._admins = _active(
                User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value))
            )
        return self._admins

    def teams_of(self, user_id: int) -> set[int]:
        if user_id not in self._teams_of:
            self._teams_of[user_id] = set(
                Membership.objects.filter(user_id=user_id).values_list("team_id", flat=True)
            )
        return self._teams_of[user_id]

    def alert(self, lead: Lead) -> list[User]:
        """The owner; for an unassigned lead, its team's managers (every team's for a lead
        in the shared pool, which every manager sees), or the admins if there are none."""
        if lead.owner is not None and lead.owner.is_active:
            return [lead.owner]
        return self.managers(lead.team_id) or self.admins()

    def escalation(self, lead: Lead) -> list[User]:
        """The managers of the owner's teams and of the lead's team, never the owner (who
        had the alert); the admins if there are none."""
        team_ids = self.teams_of(lead.owner_id) if lead.owner_id else set()
        if lead.team_id:
            team_ids = {*team_ids, lead.team_id}
        if team_ids:
            managers = {u.pk: u for team_id in sorted(team_ids) for u in self.managers(team_id)}
            people = list(managers.values())
        else:
            people = self.managers(None)
        people = [user for user in people if user.pk != lead.owner_id]
        return people or [user for user in self.admins() if user.pk != lead.owner_id]


def _active(users: Any) -> list[User]:
    return list(users.filter(is_active=True).distinct().order_by("pk"))


# --- The scan -------------------------------------------------------------------------------


def alert_key(lead: Lead, kind: str) -> str:
    # The deadline is part of the key: a lead that starts waiting again (back to New) has
    # a new deadline, and may be alerted about it again.
    due = lead.sla_due_at.isoformat() if lead.sla_due_at else "none"
    return f"lead:{lead.pk}:{kind}:{due}"


def _notifications(
    lead: Lead, recipients: list[User], *, kind: str, template: str, at: datetime, **extra: Any
) -> list[Notification]:
    url = lead.get_absolute_url()
    built = []
    for user in recipients:
        context = {
            "lead": lead,
            "url": url,
            "owner": lead.owner,
            "to_owner": user.pk == lead.owner_id,
            **extra,
        }
        email = render_email(template, context, user=user)
        built.append(
            build_notification(
                user=user,
                kind=kind,
                key=alert_key(lead, kind),
                title=email.subject,
                url=url,
                target=lead,
                email=email,
                at=at,
            )
        )
    return built


def _waiting() -> Any:
    return Lead.objects.filter(
        status=Lead.Status.NEW, first_contacted_at__isnull=True, merged_into__isnull=True
    )


def sla_alert_due(*, at: datetime, limit: int) -> int:
    """Alert about the leads past their deadline; returns how many this call took."""
    with transaction.atomic():
        leads = list(
            _waiting()
            .filter(sla_due_at__lte=at, sla_alerted_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .order_by("sla_due_at", "id")[:limit]
        )
        if not leads:
            return 0
        built: list[Notification] = []
        recipients = Recipients()
        for lead in leads:
            built += _notifications(
                lead,
                recipients.alert(lead),
                kind=Notification.Kind.SLA_ALERT,
                template="sla_alert",
                at=at,
            )
        notify_many(built)
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(sla_alerted_at=at)
    return len(leads)


def sla_escalate_due(*, at: datetime, limit: int, target: ResponseTarget) -> int:
    """Escalate the leads still waiting past their escalation deadline."""
    # Working hours never pass faster than the wall clock, so the plain delay is a lower
    # bound that the index can use; the exact deadline is checked below.
    earliest = at - timedelta(minutes=target.escalate_after_minutes)
    with transaction.atomic():
        candidates = list(
            _waiting()
            .filter(
                sla_due_at__lte=earliest,
                sla_alerted_at__isnull=False,
                sla_escalated_at__isnull=True,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .order_by("sla_due_at", "id")[:limit]
        )
        leads = []
        for lead in candidates:
            deadline = escalation_deadline(lead, target)
            if deadline is None or deadline > at:
                break  # deadlines grow with sla_due_at: none of the later ones is due either
            leads.append(lead)
        if not leads:
            return 0
        built: list[Notification] = []
        recipients = Recipients()
        for lead in leads:
            built += _notifications(
                lead,
                recipients.escalation(lead),
                kind=Notification.Kind.ESCALATION,
                template="sla_escalation",
                at=at,
                alerted_at=lead.sla_alerted_at,
            )
        notify_many(built)
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(sla_escalated_at=at)
    return len(leads)


def sla_scan(*, at: datetime | None = None, limit: int | None = None) -> tuple[int, int]:
    """Alert and escalate everything due by ``at`` (default now), batch after batch;
    returns (alerted, escalated)."""
    at = at or now()
    limit = limit or settings.NOTIFICATION_DISPATCH_LIMIT
    target = ResponseTarget.current()
    alerted = escalated = 0
    while taken := sla_alert_due(at=at, limit=limit):
        alerted += taken
        if taken < limit:
            break
    while taken := sla_escalate_due(at=at, limit=limit, target=target):
        escalated += taken
        if taken < limit:
            break
    return alerted, escalated
