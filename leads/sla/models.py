"""The response-time target is a ``leads`` model (its table is ``leads_responsetarget``)."""

from leads.models import ResponseTarget

__all__ = ["ResponseTarget"]
