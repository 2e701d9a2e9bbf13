from __future__ import annotations

import pytest

from leads.models import LostReason, Source

SOURCES = ["Web form", "Email", "Referral", "Cold call", "Campaign", "Social", "Event", "Import"]


@pytest.fixture(autouse=True)
def reference_rows(request: pytest.FixtureRequest) -> None:
    """The sources and lost reasons migrations make (a transactional test's flush wipes
    them, so they are made again here)."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if (
        "transactional_db" in names
        or "live_server" in names
        or (marker is not None and marker.kwargs.get("transaction"))
    ):
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in names:
        request.getfixturevalue("db")
    else:
        return
    for position, name in enumerate(SOURCES):
        Source.objects.get_or_create(name=name, defaults={"position": position})
    LostReason.objects.get_or_create(name="No budget")
