from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

CLOSED_PORT_BROKER = "redis://127.0.0.1:9/0"  # discard port: nothing listens there


def test_healthy_when_database_broker_and_cache_answer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "cache": "ok"},
    }


@override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER)
def test_unavailable_when_the_broker_is_unreachable(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_REDIRECT_EXEMPT=[r"^healthz$"],
    ALLOWED_HOSTS=["crm.example.com"],
)
def test_answers_over_plain_http_where_https_redirects_are_on(client: Client) -> None:
    assert client.get("/healthz", HTTP_HOST="crm.example.com").status_code == 200
    redirected = client.get("/accounts/login/", HTTP_HOST="crm.example.com")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


def test_production_settings_exempt_healthz_from_the_https_redirect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    production = importlib.import_module("crm.settings.production")
    assert production.SECURE_SSL_REDIRECT
    assert production.SECURE_REDIRECT_EXEMPT == [r"^healthz$"]


def test_the_redis_cache_keeps_one_client_per_pool() -> None:
    """No server needed: a client holds no connection until a command is sent."""
    from crm.cache import ReusingRedisCache

    cache = ReusingRedisCache("redis://127.0.0.1:1/0", {})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is client  # one server: one pool, one client
    assert type(client).__module__.startswith("redis")
