"""The pipeline's order is the admin's numbers: a new stage at position 0 comes first (it
used to share 0 with "Meeting set" and land after it), on the board, in the deal and
conversion selects, in the list filter and in the admin; a position already taken makes
room; a gap stops the shifting."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from crm.models import AuditEvent
from deals import services
from deals.models import Stage
from tests.deals.helpers import qualified_lead

pytestmark = pytest.mark.django_db

DEFAULT_ORDER = ["Meeting set", "Proposal sent", "Negotiation", "Won", "Lost"]


def _names() -> list[str]:
    return list(Stage.objects.values_list("name", flat=True))


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(admin: User) -> User:
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    admin.refresh_from_db()
    return admin


def _add_in_admin(client: Client, name: str, position: int) -> None:
    data = {"name": name, "position": position, "probability": 10, "kind": "open"}
    response = client.post(reverse("admin:deals_stage_add"), {**data, "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_new_stage_at_position_0_comes_first_everywhere(
    staff: User, manager: User, stages: dict[str, Stage]
) -> None:
    _add_in_admin(_client(staff), "Qualification", 0)
    assert _names() == ["Qualification", *DEFAULT_ORDER]
    positions = list(Stage.objects.values_list("position", flat=True))
    assert positions == sorted(set(positions))  # no two stages share a number

    client = _client(manager)
    board = client.get(reverse("deals:board"))
    assert [column.stage.name for column in board.context["columns"]] == _names()
    deals = client.get(reverse("deals:list"))
    stage_filter: Any = deals.context["filter"].form.fields["stage"]
    assert [label for _, label in stage_filter.choices if _] == _names()

    lead = qualified_lead(manager, owner=manager, company="Acme")
    convert = client.get(reverse("leads:convert", args=[lead.pk]))
    stage_field: Any = convert.context["form"].fields["stage"]
    assert [stage.name for stage in stage_field.queryset] == [
        "Qualification",
        "Meeting set",
        "Proposal sent",
        "Negotiation",
    ]


def test_a_taken_position_makes_room_only_as_far_as_needed(
    admin: User, stages: dict[str, Stage]
) -> None:
    Stage.objects.filter(name__in=["Won", "Lost"]).update(position=10)  # a gap after 2
    Stage.objects.filter(name="Lost").update(position=11)
    services.stage_save(stage=Stage(name="Demo", position=1, kind="open"), actor=admin)
    assert dict(Stage.objects.values_list("name", "position")) == {
        "Meeting set": 0,
        "Demo": 1,
        "Proposal sent": 2,
        "Negotiation": 3,
        "Won": 10,
        "Lost": 11,
    }
    moved = AuditEvent.objects.filter(note="Made room for Demo")
    assert moved.count() == 2


def test_swapping_two_numbers_in_the_admin_list_swaps_the_stages(
    staff: User, stages: dict[str, Stage]
) -> None:
    """The changelist saves each edited row through stage_save, one after the other."""
    meeting, proposal = stages["Meeting set"], stages["Proposal sent"]
    meeting.position, proposal.position = 1, 0
    services.stage_save(stage=meeting, actor=staff)
    services.stage_save(stage=proposal, actor=staff)
    assert _names() == ["Proposal sent", "Meeting set", "Negotiation", "Won", "Lost"]


def test_moving_a_stage_down_keeps_the_others_in_order(
    admin: User, stages: dict[str, Stage]
) -> None:
    meeting = stages["Meeting set"]
    meeting.position = 2
    services.stage_save(stage=meeting, actor=admin)
    assert _names() == ["Proposal sent", "Meeting set", "Negotiation", "Won", "Lost"]
