"""Creating a lead stays cheap whatever the channel: with the duplicate check, the
assignment rules (round-robin under its lock), the SLA deadline, tags, the audit event and
the owner's notification, at most 12 queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.models import Team, User
from crm.models import AuditEvent, Notification
from leads import services
from leads.capture.services import EMAIL, WEB_FORM, Inquiry, capture_inquiry
from leads.models import AssignmentRule, Lead, ResponseTarget, Source, Tag
from tests.factories import add_to_team, make_lead, make_team, make_user

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12


@pytest.fixture(autouse=True)
def steady_state(db: None) -> None:
    """What a running server already holds: the response-time target row, the content
    types in Django's cache."""
    ResponseTarget.current()
    ContentType.objects.get_for_model(Lead)


@pytest.fixture
def round_robin(db: None) -> Team:
    inside = make_team(name="Inside Sales")
    for name in ("maya", "noah"):
        add_to_team(inside, make_user(email=f"{name}@example.com"))
    AssignmentRule.objects.create(name="Unlikely", position=1, region="Atlantis", team=inside)
    AssignmentRule.objects.create(name="Everything", position=2, team=inside)
    return inside


@pytest.mark.parametrize("channel", [WEB_FORM, EMAIL])
def test_a_captured_lead_costs_at_most_12_queries(
    round_robin: Team, tag: Tag, rep: User, channel: str, django_assert_max_num_queries: Any
) -> None:
    make_lead(rep, email="someone.else@example.com", phone="+44 20 7946 0000")
    source, _ = Source.objects.get_or_create(name="Web form")
    inquiry = Inquiry(
        channel=channel,
        label="Web form “Contact”",
        fields={
            "first_name": "Vera",
            "last_name": "Visitor",
            "email": "vera@example.org",
            "phone": "+49 30 1234567",
            "source": source,
        },
        message="Please call me",
        team=round_robin,
        tags=[tag],
    )
    with django_assert_max_num_queries(MAX_QUERIES):
        captured = capture_inquiry(inquiry)
    assert captured.lead is not None
    lead = Lead.objects.get(pk=captured.lead.pk)
    assert lead.owner is not None
    assert lead.sla_due_at is not None
    assert list(lead.tags.all()) == [tag]
    assert AuditEvent.objects.filter(target_id=lead.pk).count() == 1
    assert Notification.objects.filter(user=lead.owner).count() == 1


def test_a_lead_typed_in_costs_at_most_12_queries(
    manager: User, round_robin: Team, tag: Tag, django_assert_max_num_queries: Any
) -> None:
    services.can_assign(manager)  # the request's user, its permissions read by the login
    with django_assert_max_num_queries(MAX_QUERIES):
        lead = services.lead_create(
            actor=manager, first_name="Tom", last_name="Typed", email="tom@example.org", tags=[tag]
        )
    assert lead.owner is not None  # routed: the manager left the owner empty
