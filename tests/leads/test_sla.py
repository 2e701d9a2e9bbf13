"""The response-time target: the deadline clock, the flag on the list and the lead's page,
and the scan that alerts the owner (or the team's managers) and escalates to the manager,
each exactly once. Time is injected (``at=``), never slept on or frozen globally."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from crm.models import Notification
from crm.notifications import dispatch_emails, send_emails
from leads import demo, services
from leads.models import Lead, LostReason, ResponseTarget
from leads.sla import services as sla
from leads.sla.tasks import remind_response_targets

# The real worker's fixture, used by name below.
from tests.crm.test_celery_worker import (
    celery_worker_process,  # noqa: F401
    wait_for,
)
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
HOUR = timedelta(hours=1)


def target(**fields: object) -> ResponseTarget:
    """The one target row, changed and saved (as the admin would)."""
    current = ResponseTarget.current()
    for name, value in fields.items():
        setattr(current, name, value)
    current.save()
    return current


def due_of(lead: Lead) -> datetime:
    assert lead.sla_due_at is not None
    return lead.sla_due_at


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sent_emails(at: datetime) -> list[mail.EmailMultiAlternatives]:
    """Hand the outbox to a "worker" as the beat would, and return what was sent."""
    mail.outbox.clear()
    send_emails(dispatch_emails(at=at))
    return list(mail.outbox)


def alerts(kind: str = Kind.SLA_ALERT) -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind=kind).values_list("user__email", "key"),
    )


# --- The clock ------------------------------------------------------------------------------


def test_plain_hours_count_every_hour(db: None) -> None:
    plain = target(first_contact_minutes=24 * 60, business_hours_only=False)
    friday = utc(2025, 6, 6, 16, 30)
    assert sla.contact_deadline(friday, plain) == utc(2025, 6, 7, 16, 30)


def test_business_hours_skip_the_weekend() -> None:
    # Friday 16:30 with an 8-hour target in a 9-17 Monday-Friday week: half an hour on
    # Friday, seven and a half on Monday.
    office = ResponseTarget(first_contact_minutes=8 * 60, business_hours_only=True)
    assert sla.contact_deadline(utc(2025, 6, 6, 16, 30), office) == utc(2025, 6, 9, 16, 30)


@pytest.mark.parametrize(
    ("arrived", "hours", "due"),
    [
        (utc(2025, 6, 7, 10, 0), 2, utc(2025, 6, 9, 11, 0)),  # Saturday: counts from Monday 9:00
        (utc(2025, 6, 10, 20, 0), 2, utc(2025, 6, 11, 11, 0)),  # Tuesday evening
        (utc(2025, 6, 10, 7, 0), 1, utc(2025, 6, 10, 10, 0)),  # before the office opens
        (utc(2025, 6, 9, 9, 0), 24, utc(2025, 6, 11, 17, 0)),  # three full working days
        (utc(2025, 6, 10, 17, 0), 8, utc(2025, 6, 11, 17, 0)),  # exactly at closing time
    ],
)
def test_business_hours_outside_working_hours(arrived: datetime, hours: int, due: datetime) -> None:
    office = ResponseTarget(first_contact_minutes=hours * 60, business_hours_only=True)
    assert sla.contact_deadline(arrived, office) == due


def test_working_hours_are_read_in_the_targets_timezone() -> None:
    new_york = ResponseTarget(
        first_contact_minutes=8 * 60,
        business_hours_only=True,
        timezone="America/New_York",
        workday_start=time(9),
        workday_end=time(17),
    )
    # Friday 20:00 UTC is 16:00 in New York (EDT): one hour on Friday, seven on Monday,
    # so Monday 16:00 EDT, which is 20:00 UTC.
    assert sla.contact_deadline(utc(2025, 6, 6, 20, 0), new_york) == utc(2025, 6, 9, 20, 0)
    # Custom days: a Sunday-Thursday week makes Sunday a working day.
    gulf = ResponseTarget(
        first_contact_minutes=4 * 60,
        business_hours_only=True,
        timezone="Asia/Dubai",
        working_days=[6, 0, 1, 2, 3],
    )
    # Friday 10:00 in Dubai (06:00 UTC): nothing on Friday or Saturday; Sunday 9-13.
    assert sla.contact_deadline(utc(2025, 6, 6, 6, 0), gulf) == utc(2025, 6, 8, 9, 0)


def test_the_escalation_runs_on_the_same_clock(rep: User) -> None:
    office = target(
        first_contact_minutes=8 * 60, escalate_after_minutes=4 * 60, business_hours_only=True
    )
    lead = make_lead(rep)
    lead.sla_due_at = utc(2025, 6, 6, 16, 30)  # Friday
    # Half an hour on Friday, three and a half on Monday.
    assert sla.escalation_deadline(lead, office) == utc(2025, 6, 9, 12, 30)
    plain = target(business_hours_only=False)
    assert sla.escalation_deadline(lead, plain) == utc(2025, 6, 6, 20, 30)


def test_a_new_lead_gets_its_deadline_and_a_target_change_applies_to_later_leads(
    rep: User,
) -> None:
    target(first_contact_minutes=24 * 60)
    first = make_lead(rep)
    assert first.sla_due_at == first.created_at + timedelta(hours=24)
    target(first_contact_minutes=2 * 60)
    second = make_lead(rep)
    assert second.sla_due_at == second.created_at + timedelta(hours=2)
    first.refresh_from_db()
    assert first.sla_due_at == first.created_at + timedelta(hours=24)


# --- Alerts ---------------------------------------------------------------------------------


@pytest.fixture
def lead(rep: User) -> Lead:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    return make_lead(rep, first_name="Nora", last_name="Quinn", company="Globex")


def test_nothing_happens_before_the_deadline(lead: Lead) -> None:
    assert sla.sla_scan(at=due_of(lead) - timedelta(minutes=1)) == (0, 0)
    assert not Notification.objects.exists()


def test_the_owner_is_alerted_once_with_one_email(lead: Lead, rep: User, manager: User) -> None:
    at = due_of(lead) + timedelta(minutes=1)
    assert sla.sla_scan(at=at) == (1, 0)
    assert sla.sla_scan(at=at + timedelta(minutes=1)) == (0, 0)  # the next beat

    lead.refresh_from_db()
    assert lead.sla_alerted_at == at
    assert lead.sla_escalated_at is None
    assert alerts() == [(rep.email, sla.alert_key(lead, Kind.SLA_ALERT))]
    notification = Notification.objects.get()
    assert notification.url == lead.get_absolute_url()
    assert notification.target_id == lead.pk
    assert lead.number in notification.title

    emails = sent_emails(at + timedelta(minutes=2))
    assert [email.to for email in emails] == [[rep.email]]
    email = emails[0]
    assert email.subject == f"Not contacted in time: {lead.number} Nora Quinn"
    link = f"{settings.SITE_URL}{lead.get_absolute_url()}"
    assert f"Open the lead: {link}" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in str(html)
    assert sent_emails(at + HOUR) == []  # sent once; nothing left in the outbox


def test_the_alert_time_is_in_the_recipients_timezone(lead: Lead, rep: User) -> None:
    User.objects.filter(pk=rep.pk).update(timezone="Asia/Tokyo")
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=utc(2025, 6, 6, 16, 30))
    sla.sla_scan(at=utc(2025, 6, 6, 17, 0))
    text = Notification.objects.get().email_text
    assert "Saturday 7 June 2025, 01:30 (Asia/Tokyo)" in text


def test_an_unassigned_lead_alerts_its_teams_managers(
    manager: User, rep: User, other_manager: User
) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    pooled = make_lead(manager)  # into the manager's team's pool
    assert pooled.owner is None
    sla.sla_scan(at=due_of(pooled) + HOUR)
    assert alerts() == [(manager.email, sla.alert_key(pooled, Kind.SLA_ALERT))]
    emails = sent_emails(due_of(pooled) + 2 * HOUR)
    assert emails[0].to == [manager.email]
    assert emails[0].subject.startswith("Unassigned lead not contacted in time")
    assert "claim it yourself" in emails[0].body


def test_a_lead_in_the_shared_pool_alerts_every_teams_managers(
    manager: User, other_manager: User, admin: User
) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    shared = make_lead(admin)  # the admin belongs to no team: no owner, no team
    assert shared.owner is None
    assert shared.team is None
    sla.sla_scan(at=due_of(shared) + HOUR)
    assert [email for email, _ in alerts()] == sorted([manager.email, other_manager.email])


def test_with_no_manager_at_all_the_admins_hear_of_it(admin: User) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    shared = make_lead(admin)
    sla.sla_scan(at=due_of(shared) + HOUR)
    assert [email for email, _ in alerts()] == [admin.email]


def test_a_deactivated_owners_lead_goes_to_the_managers(
    lead: Lead, rep: User, manager: User
) -> None:
    User.objects.filter(pk=rep.pk).update(is_active=False)
    sla.sla_scan(at=due_of(lead) + HOUR)
    assert [email for email, _ in alerts()] == [manager.email]
    assert "can no longer work on it" in Notification.objects.get().email_text


def test_a_contacted_lead_is_never_alerted_and_keeps_its_response_time(
    lead: Lead, rep: User
) -> None:
    arrived = lead.created_at - 3 * HOUR
    Lead.objects.filter(pk=lead.pk).update(created_at=arrived)
    note = services.lead_add_note(lead=lead, actor=rep, kind="call", body="Spoke to Nora.")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    assert lead.first_contacted_at == note.created_at
    assert lead.first_response_time == note.created_at - arrived
    assert lead.first_response_time >= 3 * HOUR

    assert sla.sla_scan(at=due_of(lead) + 10 * HOUR) == (0, 0)
    assert not Notification.objects.exists()


def test_a_plain_note_is_not_a_contact(lead: Lead, rep: User) -> None:
    services.lead_add_note(lead=lead, actor=rep, kind="note", body="Looked them up.")
    assert sla.sla_scan(at=due_of(lead) + HOUR) == (1, 0)


def test_a_lead_that_left_new_is_not_alerted(lead: Lead, rep: User, reason: LostReason) -> None:
    services.lead_change_status(lead=lead, actor=rep, status="junk")
    assert sla.sla_scan(at=due_of(lead) + 10 * HOUR) == (0, 0)


# --- Escalation -----------------------------------------------------------------------------


def test_still_untouched_it_is_escalated_to_the_owners_manager_once(
    lead: Lead, rep: User, rep_b: User, manager: User, other_manager: User
) -> None:
    due = due_of(lead)
    sla.sla_scan(at=due + HOUR)
    assert sla.sla_scan(at=due + 4 * HOUR - timedelta(seconds=1)) == (0, 0)  # not yet
    assert sla.sla_scan(at=due + 4 * HOUR) == (0, 1)
    assert sla.sla_scan(at=due + 5 * HOUR) == (0, 0)

    lead.refresh_from_db()
    assert lead.sla_escalated_at == due + 4 * HOUR
    assert alerts(Kind.ESCALATION) == [(manager.email, sla.alert_key(lead, Kind.ESCALATION))]
    assert alerts(Kind.SLA_ALERT) == [(rep.email, sla.alert_key(lead, Kind.SLA_ALERT))]

    emails = sent_emails(due + 6 * HOUR)
    assert sorted(email.to[0] for email in emails) == [manager.email, rep.email]
    escalation = next(email for email in emails if email.to == [manager.email])
    assert escalation.subject == f"Escalation: {lead.number} Nora Quinn still not contacted ({rep})"
    assert sent_emails(due + 7 * HOUR) == []


def test_a_late_first_scan_alerts_and_escalates_in_one_run(lead: Lead, manager: User) -> None:
    assert sla.sla_scan(at=due_of(lead) + 10 * HOUR) == (1, 1)
    assert sla.sla_scan(at=due_of(lead) + 11 * HOUR) == (0, 0)
    assert Notification.objects.count() == 2


def test_contacted_after_the_alert_it_is_not_escalated(lead: Lead, rep: User) -> None:
    sla.sla_scan(at=due_of(lead) + HOUR)
    services.lead_change_status(lead=lead, actor=rep, status="contacted")
    assert sla.sla_scan(at=due_of(lead) + 10 * HOUR) == (0, 0)
    assert not Notification.objects.filter(kind=Kind.ESCALATION).exists()


def test_escalation_waits_for_working_hours(lead: Lead, manager: User) -> None:
    target(escalate_after_minutes=4 * 60, business_hours_only=True)
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=utc(2025, 6, 6, 16, 30))  # Friday
    assert sla.sla_scan(at=utc(2025, 6, 7, 12, 0)) == (1, 0)  # Saturday: alert only
    assert sla.sla_scan(at=utc(2025, 6, 9, 12, 29)) == (0, 0)  # Monday morning
    assert sla.sla_scan(at=utc(2025, 6, 9, 12, 30)) == (0, 1)


def test_a_manager_owning_the_lead_escalates_to_the_other_managers_or_admins(
    manager: User, admin: User
) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    own = services.lead_create(actor=manager, owner=manager, first_name="Al", email="a@x.io")
    sla.sla_scan(at=due_of(own) + 10 * HOUR)
    assert [email for email, _ in alerts(Kind.ESCALATION)] == [admin.email]


# --- Back to New ----------------------------------------------------------------------------


def test_reopened_to_new_it_waits_again_on_a_fresh_deadline(
    lead: Lead, rep: User, manager: User
) -> None:
    sla.sla_scan(at=due_of(lead) + 10 * HOUR)
    first_key = sla.alert_key(lead, Kind.SLA_ALERT)
    services.lead_change_status(lead=lead, actor=rep, status="junk")
    reopened = services.lead_change_status(lead=lead, actor=manager, status="new")
    assert due_of(reopened) > due_of(lead)
    assert reopened.sla_alerted_at is None
    assert reopened.sla_escalated_at is None

    sla.sla_scan(at=due_of(reopened) + HOUR)
    assert alerts() == sorted(
        [(rep.email, first_key), (rep.email, sla.alert_key(reopened, Kind.SLA_ALERT))]
    )


def test_back_to_new_after_a_contact_does_not_wait_again(
    lead: Lead, rep: User, manager: User
) -> None:
    services.lead_change_status(lead=lead, actor=rep, status="contacted")
    services.lead_change_status(lead=lead, actor=rep, status="new")
    assert sla.sla_scan(at=due_of(lead) + 10 * HOUR) == (0, 0)
    assert not sla.is_breached(Lead.objects.get(pk=lead.pk), at=due_of(lead) + HOUR)


# --- The celery task ------------------------------------------------------------------------


def test_the_beat_task_scans_now(lead: Lead, rep: User) -> None:
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=lead.created_at - HOUR)
    assert remind_response_targets() == [1, 0]
    assert remind_response_targets() == [0, 0]


@pytest.mark.django_db(transaction=True)
def test_a_lead_another_scan_holds_is_skipped_then_alerted_once(rep: User) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    lead = make_lead(rep)
    at = due_of(lead) + HOUR
    locked, release = threading.Event(), threading.Event()

    def other_scan() -> None:
        # A second beat's scan, in its own connection, in the middle of its transaction.
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=lead.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_scan)
    thread.start()
    assert locked.wait(10)
    try:
        assert sla.sla_scan(at=at) == (0, 0)  # skipped, not waited for
    finally:
        release.set()
        thread.join()
    assert sla.sla_scan(at=at) == (1, 0)
    assert sla.sla_scan(at=at) == (0, 0)
    assert Notification.objects.filter(user=rep, kind=Kind.SLA_ALERT).count() == 1
    assert connection.vendor == "postgresql"


# --- The flag on the list and the lead's page -----------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_filter_and_badge_use_each_leads_deadline(lead: Lead, rep: User) -> None:
    late = make_lead(rep, first_name="Late", email="late@example.com")
    Lead.objects.filter(pk=late.pk).update(sla_due_at=late.created_at - HOUR)
    contacted = make_lead(rep, first_name="Called", email="called@example.com")
    Lead.objects.filter(pk=contacted.pk).update(sla_due_at=contacted.created_at - HOUR)
    services.lead_add_note(lead=contacted, actor=rep, kind="call", body="Spoke to them.")

    client = client_for(rep)
    response = client.get(reverse("leads:list") + "?sla=breached")
    assert [row.number for row in response.context["page"].rows] == [late.number]
    assert response.content.decode().count("SLA breached") == 1

    page = client.get(reverse("leads:list")).content.decode()
    assert page.count("SLA breached") == 1
    assert page.count("Contact by") == 1  # the lead fixture, not due yet


def test_the_lead_page_flags_a_breached_lead(lead: Lead, rep: User) -> None:
    client = client_for(rep)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-sla"' in page
    assert "Contact by" in page
    assert "SLA breached" not in page

    Lead.objects.filter(pk=lead.pk).update(sla_due_at=lead.created_at - HOUR)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "SLA breached" in page

    services.lead_add_note(lead=lead, actor=rep, kind="email", body="Wrote to Nora.")
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-sla"' not in page


def test_the_list_with_badges_keeps_its_query_count(
    rep: User, django_assert_max_num_queries: object
) -> None:
    for i in range(12):
        late = make_lead(rep, last_name=f"Late{i}", email=f"late{i}@example.com")
        Lead.objects.filter(pk=late.pk).update(sla_due_at=late.created_at - HOUR)
    client = client_for(rep)
    client.get(reverse("leads:list"))  # warm the session
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        page = client.get(reverse("leads:list")).content.decode()
    assert page.count("SLA breached") == 12


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_edits_the_one_target(admin: User) -> None:
    ResponseTarget.current()
    client = client_for(admin)
    listing = client.get(reverse("admin:leads_responsetarget_changelist"))
    assert listing.status_code == 302
    assert listing.url == reverse("admin:leads_responsetarget_change", args=[1])
    assert client.get(reverse("admin:leads_responsetarget_add")).status_code == 403
    assert client.get(reverse("admin:leads_responsetarget_delete", args=[1])).status_code == 403

    form = {
        "first_contact_minutes": "8 h",
        "escalate_after_minutes": "1 h 30 min",
        "business_hours_only": "on",
        "workday_start": "09:00",
        "workday_end": "17:00",
        "timezone": "Europe/Berlin",
    }
    refused = client.post(reverse("admin:leads_responsetarget_change", args=[1]), form)
    assert refused.status_code == 200
    assert "Tick at least one working day" in refused.content.decode()

    saved = client.post(
        reverse("admin:leads_responsetarget_change", args=[1]),
        {**form, "working_days": ["0", "1", "2", "3", "4"]},
    )
    assert saved.status_code == 302
    current = ResponseTarget.current()
    assert (current.first_contact_minutes, current.escalate_after_minutes) == (480, 90)
    assert current.business_hours_only is True
    assert current.working_days == [0, 1, 2, 3, 4]
    assert current.timezone == "Europe/Berlin"


def test_reps_and_managers_cannot_change_the_target(manager: User) -> None:
    assert Group.objects.filter(name=Role.MANAGER.value).exists()
    response = client_for(manager).get(reverse("admin:leads_responsetarget_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


# --- Generated and demo data ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_generated_leads_have_deadlines_and_a_first_scan_alerts_nobody() -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    call_command("generate_leads", "--count", "300", "--batch", "150", stdout=StringIO())
    leads = list(Lead.objects.all())
    assert all(lead.sla_due_at == lead.created_at + 24 * HOUR for lead in leads)
    for lead in leads:
        if lead.first_contacted_at is not None:
            assert lead.first_response_time == lead.first_contacted_at - lead.created_at
    waiting_late = [lead for lead in leads if sla.is_breached(lead)]
    assert waiting_late  # generated history has new leads nobody called in time...
    assert all(lead.sla_alerted_at and lead.sla_escalated_at for lead in waiting_late)
    assert sla.sla_scan() == (0, 0)  # ...and nobody is alerted about them


def test_demo_leads_get_deadlines_and_one_live_escalation(
    rep: User, rep_b: User, manager: User
) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    current = make_lead(rep).created_at
    ages = {"fresh": 2, "late": 26, "old": 72, "older": 96}
    made = {}
    for name, hours in ages.items():
        lead = make_lead(rep, first_name=name.title(), email=f"{name}@example.com")
        Lead.objects.filter(pk=lead.pk).update(created_at=current - hours * HOUR)
        made[name] = lead.pk
    called = make_lead(rep_b, first_name="Called", email="called@example.com")
    Lead.objects.filter(pk=called.pk).update(created_at=current - 80 * HOUR)
    services.lead_add_note(lead=called, actor=rep_b, kind="call", body="Late call.")

    escalated = demo._response_times([*made.values(), called.pk], current)

    assert escalated == made["old"]  # the most recent lead whose escalation is overdue
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    assert leads[made["older"]].sla_escalated_at == due_of(leads[made["older"]]) + 4 * HOUR
    assert leads[made["fresh"]].sla_alerted_at is None  # not due yet
    assert leads[called.pk].sla_alerted_at == leads[called.pk].sla_due_at  # contacted late
    assert leads[called.pk].first_response_time is not None
    assert alerts(Kind.ESCALATION) == [
        (manager.email, sla.alert_key(leads[made["old"]], Kind.ESCALATION))
    ]
    assert sorted(key for _, key in alerts()) == sorted(
        sla.alert_key(leads[made[name]], Kind.SLA_ALERT) for name in ("late", "old")
    )
    assert sla.sla_scan(at=current) == (0, 0)


# --- Through a real worker ------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker_process")
def test_two_beats_through_a_real_worker_alert_and_email_once(rep: User, manager: User) -> None:
    target(first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60, business_hours_only=False)
    lead = make_lead(rep)
    # Waiting past both deadlines: one scan alerts the owner and escalates to the manager.
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=lead.created_at - 5 * HOUR)
    remind_response_targets.delay()
    remind_response_targets.delay()  # a second beat, at the same moment

    def emailed() -> bool:
        return Notification.objects.filter(email_state=Notification.Email.SENT).count() >= 2

    assert wait_for(emailed), "the worker never sent the alerts"
    lead.refresh_from_db()
    assert lead.sla_alerted_at is not None
    assert lead.sla_escalated_at is not None
    rows = list(Notification.objects.values_list("user__email", "kind", "email_attempts"))
    assert sorted(rows) == [(manager.email, Kind.ESCALATION, 1), (rep.email, Kind.SLA_ALERT, 1)]


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("5 min", 5),
        ("5m", 5),
        ("24 h", 1440),
        ("1 h 30 min", 90),
        ("2 days", 2880),
        ("1d 4h", 1680),
    ],
)
def test_a_target_can_be_minutes(admin: User, typed: str, minutes: int) -> None:
    ResponseTarget.current()
    saved = client_for(admin).post(
        reverse("admin:leads_responsetarget_change", args=[1]),
        {
            "first_contact_minutes": typed,
            "escalate_after_minutes": "0 min",
            "workday_start": "09:00",
            "workday_end": "17:00",
            "timezone": "UTC",
            "working_days": ["0"],
        },
    )
    assert saved.status_code == 302
    target = ResponseTarget.current()
    assert target.first_contact_minutes == minutes
    arrived = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert sla.contact_deadline(arrived, target) == arrived + timedelta(minutes=minutes)


@pytest.mark.parametrize("typed", ["5", "five minutes", "0 min", "-5 min", "5 weeks", "9999 days"])
def test_a_target_without_a_unit_or_out_of_range_is_refused(admin: User, typed: str) -> None:
    ResponseTarget.current()
    refused = client_for(admin).post(
        reverse("admin:leads_responsetarget_change", args=[1]),
        {
            "first_contact_minutes": typed,
            "escalate_after_minutes": "1 h",
            "workday_start": "09:00",
            "workday_end": "17:00",
            "timezone": "UTC",
        },
    )
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "with a unit" in page or "Enter between" in page
    assert ResponseTarget.current().first_contact_minutes == 24 * 60


def test_the_change_page_shows_the_target_as_people_say_it(admin: User) -> None:
    target = ResponseTarget.current()
    target.first_contact_minutes = 90
    target.save()
    page = client_for(admin).get(reverse("admin:leads_responsetarget_change", args=[1]))
    assert 'value="1 h 30 min"' in page.content.decode()
    assert str(ResponseTarget.current()) == "Contact new leads within 1 h 30 min"
