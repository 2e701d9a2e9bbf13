"""Automatic assignment: the admin's ordered rules route every new lead nobody owns, from
any channel, to one person or to a team's members in turn.

One ``models`` (``AssignmentRule``, a ``leads`` model) and ``services``: ``route`` picks
the owner inside the caller's transaction (``lead_create`` calls it), with the reason the
lead's history keeps ("Rule “DACH inbound” → round-robin Inside Sales → Maya").
"""
