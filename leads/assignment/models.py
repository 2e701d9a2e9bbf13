"""The assignment rule is a ``leads`` model (its table is ``leads_assignmentrule``)."""

from leads.models import AssignmentRule

__all__ = ["AssignmentRule"]
