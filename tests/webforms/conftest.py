from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def own_cache_keys(settings: Any) -> None:
    """Rate-limit windows and used tokens live in the shared cache: each test counts on
    keys of its own, whatever an earlier run left there."""
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"crm-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches
    settings.WEBFORM_MIN_FILL_SECONDS = 0
