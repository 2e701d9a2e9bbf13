"""Deals made the way the product makes them: a qualified lead, converted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import User
from deals import services
from deals.models import Deal, Stage
from leads import services as lead_services
from leads.models import Lead
from tests.factories import make_lead

DEFAULT_STAGES = [
    ("Meeting set", 20, "open"),
    ("Proposal sent", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def ensure_stages() -> dict[str, Stage]:
    """The default stages (a transactional test's flush may have removed migration 0002's)."""
    return {
        name: Stage.objects.get_or_create(
            name=name, defaults={"position": i, "probability": p, "kind": kind}
        )[0]
        for i, (name, p, kind) in enumerate(DEFAULT_STAGES)
    }


def qualified_lead(actor: User, **fields: Any) -> Lead:
    lead = make_lead(actor, **fields)
    lead = lead_services.lead_set_next_action(
        lead=lead, actor=actor, next_action="Send proposal", due=timezone.now() + timedelta(days=2)
    )
    return lead_services.lead_change_status(lead=lead, actor=actor, status="qualified")


def make_deal(
    actor: User, *, value: str = "1000", stage: str = "Meeting set", **fields: Any
) -> Deal:
    lead = qualified_lead(actor, **fields)
    return services.lead_convert(
        lead=lead,
        actor=actor,
        title=f"{lead.company or lead.full_name} deal",
        value=Decimal(value),
        stage=ensure_stages()[stage],
    )
