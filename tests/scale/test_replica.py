"""The read-replica router against a real streaming standby.

A throwaway primary gets a copy of the test database and a physical standby streams from
it (``pg_basebackup -R``, tests/scale/standby.py). For each test the app's ``default``
database is that primary and ``replica_1`` the standby. Pausing the standby's replay
(``pg_wal_replay_pause()``) makes a row the primary has and the replica has not: which one
a page shows says where it read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from crm import db_router
from leads.models import Lead
from tests.factories import make_lead
from tests.scale import standby as servers

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_1"])

REPLICA = "replica_1"


@dataclass
class Pair:
    primary: servers.Server
    standby: servers.Server
    database: str

    def pause_replay(self) -> None:
        self.standby.execute(self.database, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.standby.execute(self.database, "SELECT pg_wal_replay_resume()")

    def wait_caught_up(self) -> None:
        [(lsn,)] = self.primary.execute(self.database, "SELECT pg_current_wal_insert_lsn()::text")
        deadline = time.monotonic() + 30
        while not self.standby.execute(
            self.database, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
        )[0][0]:
            assert time.monotonic() < deadline, "the standby never caught up"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def pair(django_db_setup: None, django_db_blocker: Any) -> Iterator[Pair]:
    with django_db_blocker.unblock():
        from crm.workers import database_url

        source, name = database_url(), connection.settings_dict["NAME"]
    primary = servers.primary_with_copy_of(source, name)
    try:
        replica = servers.standby_of(primary)
        # The alias exists before each test starts, so the test may use it; a mirror (of
        # default), so the test's end flushes only the primary.
        connections.settings[REPLICA] = {
            **connection.settings_dict,
            "HOST": "127.0.0.1",
            "PORT": str(replica.port),
            "OPTIONS": {**connection.settings_dict["OPTIONS"], "connect_timeout": 2},
            "TEST": {**connection.settings_dict["TEST"], "MIRROR": "default"},
        }
        try:
            yield Pair(primary, replica, name)
        finally:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]
            servers.remove(replica)
    finally:
        servers.remove(primary)


@pytest.fixture
def routed(pair: Pair, transactional_db: None, settings: Any) -> Iterator[Pair]:
    """``default`` is the throwaway primary and ``replica_1`` its standby, for one test."""
    default = connections["default"]
    saved = dict(default.settings_dict)
    default.close()
    default.settings_dict.update(HOST="127.0.0.1", PORT=str(pair.primary.port))
    settings.DATABASE_REPLICAS = [REPLICA]
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0  # look at the standby on every read
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 300
    db_router._checked.clear()
    try:
        yield pair
    finally:
        pair.resume_replay()
        connections[REPLICA].close()
        call_command("flush", interactive=False, verbosity=0)  # the throwaway primary's rows
        default.close()
        default.settings_dict.clear()
        default.settings_dict.update(saved)
        db_router._checked.clear()


def lead_only_the_primary_has(pair: Pair, rep: User, last_name: str) -> Lead:
    pair.wait_caught_up()
    pair.pause_replay()
    return make_lead(rep, owner=rep, first_name="Only", last_name=last_name)


def signed_in(rep: User) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def list_shows(client: Client, last_name: str) -> bool:
    response = client.get(reverse("leads:list"))
    assert response.status_code == 200
    return last_name in response.content.decode()


def test_heavy_reads_go_to_the_replica_and_everything_else_to_the_primary(
    routed: Pair, rep: User
) -> None:
    lead = lead_only_the_primary_has(routed, rep, "Primaryonly")

    assert not Lead.objects.filter(pk=lead.pk).using(REPLICA).exists()  # truly not there yet
    assert Lead.objects.filter(pk=lead.pk).exists()  # outside replica_reads: the primary
    with db_router.replica_reads():
        assert not Lead.objects.filter(pk=lead.pk).exists()
        with transaction.atomic():  # a read a write may depend on: the primary
            assert Lead.objects.filter(pk=lead.pk).exists()
        assert User.objects.filter(pk=rep.pk).exists()  # users: always the primary
        lead.first_name = "Written"  # writes: the primary, whatever the scope
        lead.save(update_fields=["first_name"])
    assert Lead.objects.get(pk=lead.pk).first_name == "Written"

    client = signed_in(rep)  # its session is read from the primary
    assert not list_shows(client, "Primaryonly")  # the lead list reads the replica
    detail = client.get(lead.get_absolute_url())  # one lead's page: the primary
    assert detail.status_code == 200
    assert "Primaryonly" in detail.content.decode()

    routed.resume_replay()
    routed.wait_caught_up()
    assert list_shows(client, "Primaryonly")


def test_after_a_write_the_same_browser_reads_the_primary_for_a_while(
    routed: Pair, rep: User, settings: Any
) -> None:
    settings.DATABASE_REPLICA_STICKY_SECONDS = 2
    lead_only_the_primary_has(routed, rep, "Freshlywritten")
    client = signed_in(rep)
    assert not list_shows(client, "Freshlywritten")

    wrote = client.post(reverse("notifications:read_all"))
    assert wrote.status_code == 302
    cookie = wrote.cookies[db_router.STICKY_COOKIE]
    assert int(cookie["max-age"]) == 2
    assert cookie["httponly"]
    assert list_shows(client, "Freshlywritten")  # read-your-writes: the primary
    other_browser = signed_in(rep)
    assert not list_shows(other_browser, "Freshlywritten")  # the cookie's, not the user's

    read = client.get(reverse("leads:list"))
    assert db_router.STICKY_COOKIE not in read.cookies  # a read does not extend it
    time.sleep(2.1)
    assert not list_shows(client, "Freshlywritten")  # the window is over: the replica


def test_a_lagging_replica_is_skipped_and_healthz_says_so(
    routed: Pair, rep: User, settings: Any
) -> None:
    client = signed_in(rep)
    health = client.get("/healthz").json()
    assert health["replicas"][REPLICA]["state"] == "ok"

    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0.5
    lead_only_the_primary_has(routed, rep, "Behindreplica")
    time.sleep(0.6)

    assert list_shows(client, "Behindreplica")  # the replica is too far behind: the primary
    health = client.get("/healthz")
    assert health.status_code == 200  # the primary serves: the process is healthy
    state = health.json()["replicas"][REPLICA]
    assert state["state"] == "lagging"
    assert state["lag_seconds"] > 0.5

    routed.resume_replay()
    routed.wait_caught_up()
    assert client.get("/healthz").json()["replicas"][REPLICA]["state"] == "ok"


def test_a_replica_that_is_down_is_skipped_even_in_the_middle_of_a_request(
    routed: Pair, rep: User, settings: Any
) -> None:
    make_lead(rep, owner=rep, first_name="Still", last_name="Served")
    routed.wait_caught_up()
    client = signed_in(rep)
    settings.DATABASE_REPLICA_CHECK_SECONDS = 3600  # it was fine when last looked at…
    assert list_shows(client, "Served")
    assert db_router.replica_state(REPLICA).usable

    routed.standby.stop()  # …and goes down between two requests
    try:
        assert list_shows(client, "Served")  # its failure is answered from the primary
        assert db_router.replica_state(REPLICA).error is not None  # and it is marked down
        assert list_shows(client, "Served")

        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["replicas"][REPLICA]["state"] == "down"
    finally:
        routed.standby.start()
    routed.wait_caught_up()
    assert client.get("/healthz").json()["replicas"][REPLICA]["state"] == "ok"
