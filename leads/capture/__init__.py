"""Leads that arrive by themselves: a web form filled in, an email received.

Every channel hands its ``Inquiry`` to ``services.capture_inquiry``, which decides what it
is: a reply in a thread the CRM started, a person it already knows (an open lead with the
same email or normalised phone: the message goes on that lead's timeline and its owner
hears of it; a contact with an open deal is the deals app's to answer, through
``leads.signals.inquiry_received``), or someone new, who becomes a lead routed like every
other new lead. The channels themselves (``leads.webforms``, ``leads.inbound``) only
parse, protect and store what they received.
"""
