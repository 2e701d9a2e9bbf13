"""Project wiring and the shared blocks under every record.

Wiring: ``settings``, ``urls``, ``celery``, ``wsgi``, the home and notification pages.
Shared blocks, used by every app above ``accounts``: audit events and notifications
(``models``), the email outbox (``notifications``, ``tasks``), list pagination and counts
(``pagination``), timelines (``selectors``), form helpers (``forms``), the auth backend
and health checks. Features that span leads and deals live in packages of their own
here: ``followups/`` (and next ``dashboard/``).
"""

from crm.celery import app as celery_app

__all__ = ("celery_app",)
