"""What deals tell the features above them. Sent inside the service's transaction, so a
receiver's writes commit or roll back with the change itself."""

from django.dispatch import Signal

# A deal changed hands: deal, old_owner_id, new_owner.
deal_owner_changed = Signal()
# A lead became a deal: lead, deal, at.
lead_converted = Signal()
