"""Fixtures for the board tests: the pipeline stages, and deals made through the real flow
(a lead with a next action, qualified, converted), with the title and owner a test picks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from accounts.models import User
from deals import services
from deals.models import Deal, Stage
from tests.deals.helpers import ensure_stages, qualified_lead

MakeDeal = Callable[..., Deal]


@pytest.fixture
def stages(db: None) -> dict[str, Stage]:
    """Meeting set, Proposal sent, Negotiation, Won, Lost (get_or_create: a transactional
    test's flush wipes the rows migration 0002 made)."""
    return ensure_stages()


@pytest.fixture
def make_deal(stages: dict[str, Stage]) -> MakeDeal:
    """make_deal(owner, title=..., value=..., company=...): the owner's deal, in Meeting set.
    The lead is created with an explicit owner, so managers' leads can be qualified too."""

    def make(
        owner: User, *, title: str = "Deal", value: str = "1000", company: str = "Acme"
    ) -> Deal:
        lead = qualified_lead(owner, owner=owner, company=company, estimated_value=Decimal(value))
        return services.lead_convert(
            lead=lead,
            actor=owner,
            title=title,
            value=Decimal(value),
            stage=stages["Meeting set"],
        )

    return make
