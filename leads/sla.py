"""The response-time target for new leads: when a lead must be contacted by."""

from __future__ import annotations

from datetime import datetime, timedelta

from leads.models import ResponseTarget


def contact_deadline(start: datetime, target: ResponseTarget | None = None) -> datetime:
    """When a lead that arrived at ``start`` must have been contacted by."""
    target = target or ResponseTarget.current()
    return start + timedelta(hours=target.first_contact_hours)
