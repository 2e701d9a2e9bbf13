"""Follow-ups: the work that keeps a lead or a deal moving, above both records.

Owns follow-up tasks and their reminders (``models.Task``, ``services``, ``reminders``),
the daily digest (``digest``), and follow-up emails with their templates (``emails/``).
It reads and writes leads and deals through their own services; neither record app
imports anything from here. When a record changes hands or a lead is converted, its
open tasks follow through the signals the record apps send (``receivers``).
"""
