"""Merging duplicate contacts (their deals follow the survivor), and undoing it. The choice
of surviving values and the duplicate groups are ``leads.merge``'s, shared."""
