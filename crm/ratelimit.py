"""Rate limits in the shared cache, counted over a sliding window.

Each limit keeps one counter per window of its length; a hit's count is this window's hits
plus the previous window's, weighted by how much of it still lies within the last
``seconds`` (the "sliding window counter"). Unlike a fixed window it does not let twice the
limit through across a window's edge, and it needs two small counters, not a log of hits.

Several limits are checked in order and counting stops at the first one exceeded, so a
flood refused by one limit (a client address's) does not use up the next (a whole form's).
On Redis (``crm.cache.ReusingRedisCache``) that is one script call, one round trip; on any
other cache (the database cache of the zero-setup run) the same arithmetic in a few calls.

Written here rather than taken from django-ratelimit: its limits are fixed windows, its
keys are its own and its answer is a decorator's 403, where a caller here wants to know
which limit refused and to answer with its own page.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache, caches

from crm.cache import ReusingRedisCache


@dataclass(frozen=True)
class Limit:
    count: int  # hits allowed…
    seconds: int  # …in any period this long


# KEYS: per limit, its current and its previous window's counter. ARGV: per limit, its
# count, its seconds and how far into the current window this hit is (0–1). Answers the
# 1-based position of the first limit exceeded, or 0.
SLIDING_SCRIPT = """
for i = 1, #KEYS / 2 do
  local limit, seconds = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local elapsed = tonumber(ARGV[3 * i])
  local hits = redis.call('INCR', KEYS[2 * i - 1])
  if hits == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], seconds * 2) end
  local before = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if hits + before * (1 - elapsed) > limit then return i end
end
return 0
"""

Window = tuple[str, str, float, Limit]  # current key, previous key, elapsed, the limit


def _window(key: str, limit: Limit, at: float) -> Window:
    index, into = divmod(at, limit.seconds)
    return f"{key}:{int(index)}", f"{key}:{int(index) - 1}", into / limit.seconds, limit


def first_exceeded(checks: Sequence[tuple[str, Limit]], *, at: float | None = None) -> int | None:
    """Count one hit against each ``(key, limit)`` in order; the position (0-based) of
    the first limit this hit exceeds (those after it are not counted), or ``None``."""
    at = time.time() if at is None else at
    windows = [_window(key, limit, at) for key, limit in checks]
    backend = caches["default"]
    if isinstance(backend, ReusingRedisCache):
        return _on_redis(backend, windows)
    for position, (current, previous, elapsed, limit) in enumerate(windows):
        cache.add(current, 0, limit.seconds * 2)
        try:
            hits = cache.incr(current)
        except ValueError:  # expired between the two calls: this is the window's first hit
            cache.add(current, 1, limit.seconds * 2)
            hits = 1
        before = int(cache.get(previous) or 0)
        if hits + before * (1 - elapsed) > limit.count:
            return position
    return None


_scripts: dict[int, Any] = {}  # the registered script, per redis-py client


def _on_redis(backend: ReusingRedisCache, windows: Sequence[Window]) -> int | None:
    keys: list[str] = []
    args: list[Any] = []
    for current, previous, elapsed, limit in windows:
        keys += [backend.make_and_validate_key(current), backend.make_and_validate_key(previous)]
        args += [limit.count, limit.seconds, elapsed]
    client = backend._cache.get_client(keys[0], write=True)  # type: ignore[attr-defined]
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(SLIDING_SCRIPT)
    answer = int(script(keys=keys, args=args))
    return answer - 1 if answer else None
