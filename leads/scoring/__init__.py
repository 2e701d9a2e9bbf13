"""Explainable lead scoring: admin-defined rules (``leads.models.ScoringRule``) turned into
one set-based SQL UPDATE (``services.rescore``), run in the same transaction as every
change to a lead or its timeline, and nightly for the inactivity decay (``tasks``)."""
