"""Reachability checks behind ``/healthz``; each returns ``None`` when fine, else the error."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

TIMEOUT_SECONDS = 2


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return exc.__class__.__name__
    return None


def check_broker() -> str | None:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=TIMEOUT_SECONDS,
            transport_options={"socket_timeout": TIMEOUT_SECONDS},
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
            # Redis connects lazily: ping it. (The SQLAlchemy transport lives in the
            # application database, which check_database() already probes.)
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
    except Exception as exc:
        return exc.__class__.__name__
    return None


def check_cache() -> str | None:
    try:
        cache.set("healthz", "ok", timeout=10)
        if cache.get("healthz") != "ok":
            return "cache did not keep a value"
    except Exception as exc:
        return exc.__class__.__name__
    return None


def check_replicas() -> dict[str, dict[str, Any]]:
    """Each read replica's state, looked at now: ``ok``, ``lagging`` or ``down``."""
    from crm import db_router

    states = {}
    for alias in db_router.replica_aliases():
        state = db_router.check_replica(alias)
        db_router.remember(state)
        states[alias] = state.describe()
    return states
