from __future__ import annotations

import json
from typing import Any

from django.test import Client

from accounts.models import ApiToken, User
from accounts.services import api_token_create


def token_for(user: User, scope: str = ApiToken.Scope.WRITE, **kwargs: Any) -> str:
    return api_token_create(user=user, name="Test", scope=scope, **kwargs)[1]


class Api:
    """A client that sends a bearer token and JSON."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        kwargs: dict[str, Any] = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(f"/api/v1{path}", params or {}, headers={**self.headers, **headers})

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._send("post", path, body if body is not None else {}, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._send("patch", path, body if body is not None else {}, **headers)


def api_as(user: User, scope: str = ApiToken.Scope.WRITE) -> Api:
    return Api(token_for(user, scope))


def problem_of(response: Any) -> dict[str, Any]:
    """An error's body, after checking it is the API's problem shape (never HTML)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert {"detail", "code", "field_errors"} <= set(body), body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["field_errors"], dict)
    return body
