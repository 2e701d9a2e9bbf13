"""The response-time target for new leads: when each new lead must be contacted (on the
target's clock: every hour, or working hours in its timezone), which leads are past it,
and the scan that alerts their owner once and escalates to the manager once.

It concerns leads alone (a deal has no first contact), and ``lead_create`` stamps each
new lead's deadline, so it lives below deals in ``leads/``, not with the follow-ups:
one ``models`` (``ResponseTarget``), ``services`` (deadlines and the scan) and
``tasks`` (the scan's Celery task).
"""
