"""Duplicates made the way the product makes them, and a merge as the preview posts it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accounts.models import User
from leads.merge.services import leads_merge
from leads.models import Lead, LeadMerge


def fresh(lead: Lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def merge(actor: User, survivor: Lead, *others: Lead, **kwargs: Any) -> LeadMerge:
    leads: Sequence[Lead] = [fresh(survivor), *(fresh(o) for o in others)]
    return leads_merge(
        actor=actor,
        survivor=leads[0],
        others=leads[1:],
        versions={lead.pk: lead.version for lead in leads},
        **kwargs,
    )
