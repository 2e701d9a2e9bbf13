"""Read replicas: the heavy reads go to a streaming replica, everything else to the primary.

With ``DATABASE_REPLICA_URL`` set (one URL or several, comma-separated) the databases
``replica_1``, ``replica_2``… exist and :class:`ReplicaRouter` may send a read there, but
only where the code asked for it and only while it is safe:

- **Asked for**: inside :func:`replica_reads` — the views named in
  ``DATABASE_REPLICA_VIEWS`` (lists, searches, exports, dashboards: see
  :class:`ReplicaMiddleware`) and the Celery tasks named in ``DATABASE_REPLICA_TASKS``
  (the digest's and the SLA scan's reads). Everything else reads the primary.
- **Safe**: never inside a transaction on the primary (a read that a write depends on,
  ``select_for_update`` included, sees the primary), never for the models of
  ``PRIMARY_ONLY_APPS`` (sessions, users, lockouts: a stale one signs a person out), and
  never for ``DATABASE_REPLICA_STICKY_SECONDS`` after the same browser's request wrote
  (read-your-writes, kept in a cookie). A replica that does not answer, or replays more
  than ``DATABASE_REPLICA_MAX_LAG_SECONDS`` behind the primary, is skipped; each process
  looks again every ``DATABASE_REPLICA_CHECK_SECONDS``. ``/healthz`` reports each one.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import SimpleTemplateResponse

PRIMARY = "default"
# Read from the primary always: a session or a user a replica has not seen yet would sign
# the person out or refuse them; lockouts must count every failure.
PRIMARY_ONLY_APPS = frozenset({"sessions", "accounts", "auth", "axes", "contenttypes"})
STICKY_COOKIE = "crm_primary_until"
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY", "CREATE", "ALTER", "DROP")

_replica_scope: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replica_scope", default=False
)
# The replicas handed out while a view runs, so a failure can be pinned on the right one.
_used: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "replicas_used", default=None
)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


@contextlib.contextmanager
def replica_reads(allowed: bool = True) -> Iterator[None]:
    """Let the reads in this block go to a healthy replica (``allowed=False``: pin them to
    the primary, e.g. just after this browser wrote)."""
    token = replica_scope_enter(allowed)
    try:
        yield
    finally:
        replica_scope_exit(token)


def replica_scope_enter(allowed: bool = True) -> contextvars.Token[bool]:
    return _replica_scope.set(allowed)


def replica_scope_exit(token: contextvars.Token[bool]) -> None:
    _replica_scope.reset(token)


# --- Replica health -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaState:
    alias: str
    usable: bool
    lag_seconds: float | None = None
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        if self.error:
            state = "down"
        elif not self.usable:
            state = "lagging"
        else:
            state = "ok"
        body: dict[str, Any] = {"state": state}
        if self.lag_seconds is not None:
            # Infinity is no JSON number: unknown (never replayed a commit) is null.
            finite = self.lag_seconds != float("inf")
            body["lag_seconds"] = round(self.lag_seconds, 3) if finite else None
        if self.error:
            body["error"] = self.error
        return body


_checked: dict[str, tuple[float, ReplicaState]] = {}


def _primary_lsn() -> str | None:
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            return str(cursor.fetchone()[0])
    except DatabaseError:
        return None


def check_replica(alias: str) -> ReplicaState:
    """Ask the replica now how far behind it is. Caught up (it has replayed the primary's
    current WAL position) is no lag; otherwise the lag is the age of its last replayed
    commit."""
    primary_lsn = _primary_lsn()
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(),"
                " %s::pg_lsn IS NOT NULL AND pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())",
                [primary_lsn, primary_lsn],
            )
            in_recovery, caught_up, age = cursor.fetchone()
    except DatabaseError as error:
        with contextlib.suppress(DatabaseError):
            connection.close()
        return ReplicaState(alias, usable=False, error=error.__class__.__name__)
    # Never having replayed a commit while behind counts as infinitely behind. Cautious on
    # a quiet primary: its first write after a pause counts the whole pause until the
    # replica replays it (the reads go to the primary meanwhile, never to stale data).
    behind = float(age) if age is not None else float("inf")
    lag = 0.0 if not in_recovery or caught_up else behind
    return ReplicaState(
        alias, usable=lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS, lag_seconds=lag
    )


def replica_state(alias: str) -> ReplicaState:
    """The replica's state as this process last saw it, looked at again when older than
    ``DATABASE_REPLICA_CHECK_SECONDS``."""
    now = time.monotonic()
    seen = _checked.get(alias)
    if seen is None or now - seen[0] >= settings.DATABASE_REPLICA_CHECK_SECONDS:
        seen = (now, check_replica(alias))
        _checked[alias] = seen
    return seen[1]


def remember(state: ReplicaState) -> None:
    _checked[state.alias] = (time.monotonic(), state)


def mark_down(alias: str, error: BaseException) -> None:
    remember(ReplicaState(alias, usable=False, error=error.__class__.__name__))


def usable_replica() -> str | None:
    healthy = [alias for alias in replica_aliases() if replica_state(alias).usable]
    return random.choice(healthy) if healthy else None  # noqa: S311 (spreading load)


# --- The router -----------------------------------------------------------------------------


class ReplicaRouter:
    """Writes, migrations and every read not explicitly let go: the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not _replica_scope.get() or not replica_aliases():
            return None
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return None
        if connections[PRIMARY].in_atomic_block:
            return None
        alias = usable_replica()
        used = _used.get()
        if alias and used is not None:
            used.add(alias)
        return alias

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, copied: every row is on every server

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


# --- Requests -------------------------------------------------------------------------------


def _is_write(sql: str) -> bool:
    return sql.lstrip(" (\n\t").upper().startswith(WRITES)


class ReplicaMiddleware:
    """Lets the views of ``DATABASE_REPLICA_VIEWS`` read from a replica, unless this
    browser wrote within ``DATABASE_REPLICA_STICKY_SECONDS`` (a request that wrote sets
    the ``crm_primary_until`` cookie). A GET whose replica fails mid-request is answered
    again from the primary (and a replica whose connection broke is marked down)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        wrote = False

        def watch(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            nonlocal wrote
            if not wrote and _is_write(sql):
                wrote = True
            return execute(sql, params, many, context)

        with connections[PRIMARY].execute_wrapper(watch):
            response = self.get_response(request)
        if wrote:
            seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
            response.set_cookie(
                STICKY_COOKIE,
                f"{time.time() + seconds:.3f}",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not replica_aliases() or request.method not in ("GET", "HEAD"):
            return None
        match = request.resolver_match
        if match is None or match.view_name not in settings.DATABASE_REPLICA_VIEWS:
            return None
        allowed = not self.recently_wrote(request)
        used: set[str] = set()
        token = _used.set(used)
        try:
            with replica_reads(allowed):
                return _finish(view(request, *args, **kwargs), allowed)
        except DatabaseError as error:
            if not used:
                raise
            # The replica broke (or cancelled the query to replay WAL): mark a broken one
            # down, and answer this GET from the primary.
            for alias in used:
                if _broken(alias):
                    mark_down(alias, error)
        finally:
            _used.reset(token)
        with replica_reads(False):
            return _finish(view(request, *args, **kwargs), False)

    @staticmethod
    def recently_wrote(request: HttpRequest) -> bool:
        try:
            return float(request.COOKIES.get(STICKY_COOKIE, "0")) > time.time()
        except ValueError:
            return False


def _finish(response: HttpResponse, allowed: bool) -> HttpResponse:
    """Run a template response's or a stream's reads (an export) where the view's ran."""
    if isinstance(response, StreamingHttpResponse):
        response.streaming_content = _streamed(response.streaming_content, allowed)
    elif isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
        with replica_reads(allowed):
            response.render()
    return response


def _streamed(content: Iterable[Any], allowed: bool) -> Iterator[Any]:
    with replica_reads(allowed):
        yield from content


def _broken(alias: str) -> bool:
    """Whether the replica's connection is gone (an error on a live one was the query's)."""
    connection = connections[alias]
    if connection.connection is not None and connection.is_usable():
        return False
    with contextlib.suppress(DatabaseError):
        connection.close()
    return True
