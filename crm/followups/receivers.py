"""Open follow-ups go where their record goes: to its new owner, from a converted lead to
its deal, and from merged leads to the survivor (and back on undo). Connected when the app
is ready; each runs inside the sending service's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from accounts.models import User
from crm.followups import services
from deals.models import Deal
from deals.signals import deal_owner_changed, lead_converted
from leads.models import Lead
from leads.signals import lead_merge_undone, lead_owner_changed, leads_merged


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


@receiver(leads_merged)
def tasks_follow_merge(
    sender: Any, *, survivor: Lead, others: list[Lead], **kwargs: Any
) -> dict[str, dict[str, list[int]]]:
    return services.tasks_follow_merge(survivor=survivor, others=others)


@receiver(lead_merge_undone)
def tasks_unfollow_merge(
    sender: Any, *, survivor: Lead, moved: dict[str, dict[str, list[int]]], **kwargs: Any
) -> None:
    services.tasks_unfollow_merge(survivor=survivor, moved=moved)
