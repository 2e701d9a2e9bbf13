"""A task's lead or deal is one its assignee can open and work on: creating, reassigning,
the next action's task and a record changing hands never leave someone with a task whose
record link is a 404 to them."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Team, User
from accounts.roles import Role
from crm.followups import services as followups
from crm.followups.models import Task
from deals import services as deal_services
from deals.models import Deal
from leads import services
from leads.models import Lead
from tests.deals.helpers import make_deal
from tests.factories import add_to_team, make_lead, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, first_name="Rita", last_name="Owned", company="Acme")


@pytest.fixture
def pool_lead(manager: User) -> Lead:
    lead = make_lead(manager, first_name="Pia", last_name="Pool")
    assert lead.owner is None
    assert lead.team_id is not None
    return lead


@pytest.fixture
def deal(rep: User) -> Deal:
    return make_deal(rep, company="Acme")


@pytest.fixture
def south_rep(other_team: Team) -> User:
    return add_to_team(other_team, make_user(email="south.rep@example.com", role=Role.REP))


def due() -> datetime:
    return timezone.now() + timedelta(days=1)


def refusal(user: User, record: str) -> str:
    return followups.TASK_ASSIGNEE_CANNOT_SEE.format(user=user, record=record)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Creating --------------------------------------------------------------------------------


def test_a_task_on_another_reps_lead_is_refused(
    manager: User, rep: User, rep_b: User, lead: Lead
) -> None:
    with pytest.raises(ValidationError) as error:
        followups.task_create(actor=manager, title="Call", due_at=due(), assignee=rep_b, lead=lead)
    assert error.value.messages == [refusal(rep_b, f"lead {lead.number}")]
    assert not Task.objects.exists()


def test_a_task_on_another_reps_deal_is_refused(
    manager: User, rep: User, rep_b: User, deal: Deal
) -> None:
    with pytest.raises(ValidationError) as error:
        followups.task_create(actor=manager, title="Call", due_at=due(), assignee=rep_b, deal=deal)
    assert error.value.messages == [refusal(rep_b, f"deal “{deal.title}”")]
    assert not Task.objects.filter(deal=deal).exists()


def test_a_pool_lead_of_another_team_is_refused(
    admin: User, south_rep: User, pool_lead: Lead
) -> None:
    with pytest.raises(ValidationError):
        followups.task_create(
            actor=admin, title="Call", due_at=due(), assignee=south_rep, lead=pool_lead
        )


def test_the_owner_and_a_pool_lead_in_the_team_are_fine(
    manager: User, rep: User, rep_b: User, lead: Lead, pool_lead: Lead, deal: Deal
) -> None:
    for assignee, record in ((rep, lead), (rep_b, pool_lead), (manager, lead), (rep, deal)):
        task = followups.task_create(
            actor=manager,
            title="Follow up",
            due_at=due(),
            assignee=assignee,
            lead=record if isinstance(record, Lead) else None,
            deal=record if isinstance(record, Deal) else None,
        )
        assert task.assignee == assignee
        # The assignee can open the task's record and complete the task.
        client = client_for(assignee)
        assert client.get(record.get_absolute_url()).status_code == 200
        response = client.post(reverse("tasks:complete", args=[task.pk]), {"version": task.version})
        assert response.status_code == 302
        assert Task.objects.get(pk=task.pk).done_at is not None


# --- Reassigning -----------------------------------------------------------------------------


@pytest.mark.parametrize("on", ["lead", "deal"])
def test_reassigning_to_someone_who_cannot_see_the_record_is_refused(
    manager: User, rep: User, rep_b: User, lead: Lead, deal: Deal, on: str
) -> None:
    record = lead if on == "lead" else deal
    task = followups.task_create(actor=rep, title="Call", due_at=due(), **{on: record})
    with pytest.raises(ValidationError) as error:
        followups.task_reassign(task=task, actor=manager, assignee=rep_b)
    name = f"lead {lead.number}" if on == "lead" else f"deal “{deal.title}”"
    assert error.value.messages == [refusal(rep_b, name)]
    assert Task.objects.get(pk=task.pk).assignee == rep


def test_reassigning_a_pool_leads_task_within_the_team_is_fine(
    manager: User, rep: User, rep_b: User, pool_lead: Lead
) -> None:
    task = followups.task_create(actor=manager, title="Call", due_at=due(), lead=pool_lead)
    followups.task_reassign(task=task, actor=manager, assignee=rep)
    followups.task_reassign(task=task, actor=manager, assignee=rep_b)
    assert Task.objects.get(pk=task.pk).assignee == rep_b


# --- The pages show the refusal in place -----------------------------------------------------


def test_the_new_task_form_shows_the_refusal(
    manager: User, rep: User, rep_b: User, lead: Lead
) -> None:
    response = client_for(manager).post(
        reverse("tasks:create") + f"?lead={lead.pk}",
        {
            "title": "Call",
            "kind": "call",
            "due_at": timezone.localtime(due()).strftime("%Y-%m-%dT%H:%M"),
            "remind_before": "0",
            "assignee": rep_b.pk,
        },
    )
    assert response.status_code == 200
    assert escape(refusal(rep_b, f"lead {lead.number}")) in response.content.decode()
    assert not Task.objects.exists()


def test_the_reassign_button_shows_the_refusal(
    manager: User, rep: User, rep_b: User, lead: Lead
) -> None:
    task = followups.task_create(actor=rep, title="Call", due_at=due(), lead=lead)
    response = client_for(manager).post(
        reverse("tasks:reassign", args=[task.pk]),
        {"assignee": rep_b.pk, "version": task.version},
        follow=True,
    )
    assert escape(refusal(rep_b, f"lead {lead.number}")) in response.content.decode()
    assert Task.objects.get(pk=task.pk).assignee == rep


# --- Records changing hands ------------------------------------------------------------------


def test_a_pool_leads_tasks_go_to_whoever_takes_it(
    manager: User, rep: User, rep_b: User, pool_lead: Lead
) -> None:
    reps = followups.task_create(
        actor=manager, title="B's call", due_at=due(), assignee=rep_b, lead=pool_lead
    )
    managers = followups.task_create(actor=manager, title="M's call", due_at=due(), lead=pool_lead)
    services.lead_assign_owner(lead=pool_lead, actor=manager, owner=rep)
    assert Task.objects.get(pk=reps.pk).assignee == rep  # rep B could no longer open it
    assert Task.objects.get(pk=managers.pk).assignee == manager  # the manager still can


def test_a_lead_moving_to_another_team_takes_its_managers_tasks_along(
    admin: User, manager: User, rep: User, south_rep: User, lead: Lead
) -> None:
    task = followups.task_create(actor=manager, title="M's call", due_at=due(), lead=lead)
    services.lead_assign_owner(lead=lead, actor=admin, owner=south_rep)
    assert Task.objects.get(pk=task.pk).assignee == south_rep


def test_a_deal_changing_hands_takes_stranded_tasks_along(
    manager: User, rep: User, rep_b: User, deal: Deal
) -> None:
    task = followups.task_create(actor=rep, title="Call", due_at=due(), deal=deal)
    deal_services.deal_assign_owner(deal=deal, actor=manager, owner=rep_b)
    assert Task.objects.get(pk=task.pk).assignee == rep_b
    assert Membership.objects.filter(user=rep_b).exists()
