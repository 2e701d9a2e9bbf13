"""What the lead record tells the features above it. Sent inside the service's
transaction, so a receiver's writes commit or roll back with the change itself."""

from django.dispatch import Signal

# A lead changed hands: lead, old_owner_id, new_owner (None: back to the pool).
lead_owner_changed = Signal()

# Something arrived from outside (``leads.capture.services.Inquiry``) that is not a known
# lead's: inquiry, step ("thread": a reply to an email logged elsewhere; "person": the
# sender may be a known contact). A receiver that takes it answers with a ``Captured``.
inquiry_received = Signal()

# Leads were merged (``leads.merge``): survivor, others (merged away). A receiver that moves
# rows of its own to the survivor answers with what it moved, {kind: {lead id: [row ids]}},
# kept for undo; ``lead_merge_undone`` (survivor, moved: the same dict) moves them back.
leads_merged = Signal()
lead_merge_undone = Signal()
