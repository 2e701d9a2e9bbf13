"""Open follow-ups go where their record goes: to its new owner, and from a converted
lead to its deal. Connected when the app is ready; each runs inside the sending
service's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from accounts.models import User
from crm.followups import services
from deals.models import Deal
from deals.signals import deal_owner_changed, lead_converted
from leads.models import Lead
from leads.signals import lead_owner_changed


@receiver(lead_owner_changed)
def lead_tasks_follow_owner(
    sender: Any, *, lead: Lead, old_owner_id: int | None, new_owner: User | None, **kwargs: Any
) -> None:
    services.move_open_tasks(lead, old_owner_id=old_owner_id, new_owner=new_owner)


@receiver(deal_owner_changed)
def deal_tasks_follow_owner(
    sender: Any, *, deal: Deal, old_owner_id: int | None, new_owner: User | None, **kwargs: Any
) -> None:
    services.move_open_tasks(deal, old_owner_id=old_owner_id, new_owner=new_owner)


@receiver(lead_converted)
def lead_tasks_follow_deal(
    sender: Any, *, lead: Lead, deal: Deal, at: datetime, **kwargs: Any
) -> None:
    services.tasks_move_to_deal(lead=lead, deal=deal, at=at)
