"""Sliding-window rate limits (``crm.ratelimit``): on the configured cache (Redis, or the
database cache on the zero-setup run) and on a plain Django cache, the same answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from crm.ratelimit import Limit, first_exceeded

MINUTE = Limit(3, 60)
START = 1_800_000_000.0 - 1_800_000_000.0 % 60  # the start of a window


@pytest.fixture(params=["configured", "locmem"])
def on_cache(request: pytest.FixtureRequest, db: None) -> Iterator[None]:
    if request.param == "configured":
        yield
        return
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=locmem):
        yield


def _key() -> str:
    return f"test:rate:{uuid.uuid4().hex}"


def test_hits_within_the_limit_pass_and_the_next_is_refused(on_cache: None) -> None:
    key = _key()
    assert [first_exceeded([(key, MINUTE)], at=START + t) for t in (1, 2, 3)] == [None] * 3
    assert first_exceeded([(key, MINUTE)], at=START + 4) == 0


def test_the_window_slides_over_its_edge(on_cache: None) -> None:
    """Three hits at the end of one window: a fixed window would let three more through
    a second later; the sliding one still counts most of them."""
    key = _key()
    for _ in range(3):
        assert first_exceeded([(key, MINUTE)], at=START + 59) is None
    assert first_exceeded([(key, MINUTE)], at=START + 61) == 0  # 1 + 3 × 59/60 > 3
    # Near the end of the next window the old hits have almost slid out.
    assert first_exceeded([(key, MINUTE)], at=START + 119) is None  # 2 + 3 × 1/60
    # Two windows on, nothing of them is left.
    assert [first_exceeded([(key, MINUTE)], at=START + 180 + t) for t in (1, 2, 3)] == [None] * 3


def test_counting_stops_at_the_first_limit_exceeded(on_cache: None) -> None:
    address, form = _key(), _key()
    checks = [(address, Limit(1, 60)), (form, Limit(2, 60))]
    assert first_exceeded(checks, at=START + 1) is None
    # The address is over: the form's limit is not used up by its refused hits.
    assert [first_exceeded(checks, at=START + 2) for _ in range(5)] == [0] * 5
    other = [(_key(), Limit(1, 60)), (form, Limit(2, 60))]
    assert first_exceeded(other, at=START + 3) is None  # the form's second hit
    third = [(_key(), Limit(1, 60)), (form, Limit(2, 60))]
    assert first_exceeded(third, at=START + 4) == 1  # the form's third: over
