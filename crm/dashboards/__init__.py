"""Dashboards: the figures managers and reps review (deals.py: the deal side)."""
