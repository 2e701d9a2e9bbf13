"""Web-to-lead forms: admin-defined forms served at ``/f/<slug>/`` (a standalone hosted
page, an iframe to embed it, or a plain HTML form a website pastes in), whose submissions
become leads through ``leads.capture`` (a known person's become activities on their lead).

``models`` (``WebForm`` and the refusal counts), ``protection`` (the signed per-render
token, honeypot, fill time, rate limits and the client address), ``services`` (from a
valid submission to a lead or activity, consent and UTM kept, the acknowledgement email
through the outbox), ``forms`` (the visitor's form, built from the admin's choices),
``views``, ``urls``, ``admin`` and ``demo``.
"""
