"""Follow-up emails: writing to a lead or a deal from its page, from a template whose
placeholders are filled from a fixed whitelist (never through the template engine, since
users write templates), and logging what was sent on the record's timeline.

Owns ``EmailTemplate`` (in ``crm.followups.models``) and the personal templates pages:
``services`` (render, send, template changes), ``forms``, ``views``. The URLs stay under
``/leads/`` and ``/deals/`` (the lead and deal URL modules route to these views).
"""
