"""The lead record: a person or company that raised a hand, its status and rate, owner,
next action, notes and history, and the lead pages.

Owns ``models`` (Lead, LeadNote, Source, LostReason, Tag, ResponseTarget), ``services``
(every change to a lead), ``selectors``, ``filters``, ``forms``, ``views``, ``urls``,
``admin``, ``demo``, and one package per lead-only capability with the same layer names:
``sla/`` (the response-time target), and next ``capture/``, ``imports/``, ``merge/``,
``scoring/``. Nothing here but its pages reads ``deals``: a deal is made from a lead,
not the other way round, and what a lead change means for other features is sent as a
signal (``signals``).
"""
