"""Every edit carries the version it was based on: an edit form posted without one (or
with garbage) is refused with VERSION_MISSING in place and saves nothing, instead of
falling back to last-write-wins. With the version it saves (and a stale one is the
conflict each form already reports)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.followups.models import Task
from crm.forms import VERSION_MISSING
from deals.models import Deal, Stage
from leads.models import Lead
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

MISSING = [{}, {"version": ""}, {"version": "abc"}, {"version": "-1"}]
REFUSED = escape(VERSION_MISSING)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, first_name="Rita", last_name="Owned", email="rita@acme.com")


@pytest.fixture
def stages(db: None) -> dict[str, Stage]:
    return ensure_stages()


@pytest.fixture
def deal(rep: User, stages: dict[str, Stage]) -> Deal:
    return make_deal(rep, company="Acme")


@pytest.fixture
def task(rep: User) -> Task:
    return followups.task_create(
        actor=rep, title="Call Rita", due_at=timezone.now() + timedelta(days=1)
    )


@pytest.mark.parametrize("version", MISSING)
def test_a_lead_edit_without_its_version_is_refused(
    rep: User, lead: Lead, version: dict[str, str]
) -> None:
    data = {"first_name": "Rita", "last_name": "Owned", "email": "rita@acme.com"}
    url = reverse("leads:edit", args=[lead.pk])
    response = client_for(rep).post(url, {**data, "company": "Changed", **version})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    lead.refresh_from_db()
    assert lead.company != "Changed"
    response = client_for(rep).post(url, {**data, "company": "Changed", "version": lead.version})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.company == "Changed"


@pytest.mark.parametrize("version", MISSING)
def test_a_deal_edit_without_its_version_is_refused(
    rep: User, deal: Deal, version: dict[str, str]
) -> None:
    data = {"title": "Renamed", "value": "1000", "currency": deal.currency, "probability": ""}
    url = reverse("deals:edit", args=[deal.pk])
    response = client_for(rep).post(url, {**data, **version})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    deal.refresh_from_db()
    assert deal.title != "Renamed"
    response = client_for(rep).post(url, {**data, "version": deal.version})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Renamed"


@pytest.mark.parametrize("version", MISSING)
def test_a_task_edit_without_its_version_is_refused(
    rep: User, task: Task, version: dict[str, str]
) -> None:
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "Renamed", "kind": "call", "due_at": due, "remind_before": "0"}
    url = reverse("tasks:edit", args=[task.pk])
    response = client_for(rep).post(url, {**data, **version})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    task.refresh_from_db()
    assert task.title == "Call Rita"
    response = client_for(rep).post(url, {**data, "version": task.version})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "Renamed"


@pytest.mark.parametrize("version", MISSING)
def test_a_stage_move_without_its_version_is_refused(
    rep: User, deal: Deal, stages: dict[str, Stage], version: dict[str, str]
) -> None:
    url = reverse("deals:stage", args=[deal.pk])
    data = {"stage": stages["Proposal sent"].pk}
    response = client_for(rep).post(url, {**data, **version}, follow=True)
    assert REFUSED in response.content.decode()
    htmx = client_for(rep).post(url, {**data, **version}, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert htmx.content.decode() == VERSION_MISSING
    deal.refresh_from_db()
    assert deal.stage == stages["Meeting set"]
    client_for(rep).post(url, {**data, "version": deal.version})
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal sent"]


def test_a_new_lead_needs_no_version(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:create"), {"first_name": "Nora", "last_name": "New", "email": "n@x.com"}
    )
    assert response.status_code == 302


# The one-click forms of the lead and deal pages (the task ones: tests/followups/test_views.py).
def _one_click(manager: User, lead: Lead, deal: Deal) -> list[tuple[str, dict[str, object], str]]:
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    return [
        (reverse("leads:status", args=[lead.pk]), {"status": "contacted"}, "status"),
        (reverse("leads:assign", args=[lead.pk]), {"owner": manager.pk}, "owner_id"),
        (
            reverse("leads:next_action", args=[lead.pk]),
            {"next_action": "Call back", "next_action_due": due},
            "next_action",
        ),
        (
            reverse("deals:next_action", args=[deal.pk]),
            {"next_action": "Send terms", "next_action_due": due},
            "next_action",
        ),
        (reverse("deals:assign", args=[deal.pk]), {"owner": manager.pk}, "owner_id"),
    ]


@pytest.mark.parametrize("version", MISSING)
@pytest.mark.parametrize("case", range(5))
def test_a_one_click_record_form_without_its_version_says_so(
    manager: User, lead: Lead, deal: Deal, version: dict[str, str], case: int
) -> None:
    url, data, field = _one_click(manager, lead, deal)[case]
    record = deal if "/deals/" in url else lead
    before = getattr(record, field)
    response = client_for(manager).post(url, {**data, **version}, follow=True)
    assert REFUSED in response.content.decode()
    record.refresh_from_db()
    assert getattr(record, field) == before
    client_for(manager).post(url, {**data, "version": record.version})
    record.refresh_from_db()
    assert getattr(record, field) != before
