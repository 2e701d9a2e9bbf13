"""Every error the API answers is a JSON problem body::

    {"detail": "what went wrong, for a person", "code": "machine_readable",
     "field_errors": {"field": ["message", …]}}

with 400 / 401 / 403 / 404 / 409 / 412 / 413 / 422 / 428 / 429 (some add members of their own:
``duplicates``, ``changed_fields``…). The handlers below turn what the services and Django
raise into those bodies, with the services' own messages; ``ApiProblemMiddleware`` turns
whatever else would leave ``/api/`` as an HTML error page (an unknown URL, a method not
allowed, a NUL byte refused by ``crm.middleware``) into one too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from crm.middleware import NUL_REFUSED
from leads.models import Lead
from leads.services import CONFLICT, LeadConflict

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
NOT_AUTHENTICATED = (
    "Send a personal access token (Authorization: Bearer <token>; make one on your profile "
    "page), or sign in."
)
FORBIDDEN = "You are not allowed to do that."
NOT_FOUND = "There is no such record, or you cannot see it."
NO_SUCH_ENDPOINT = "No such endpoint: {method} {path}. The endpoints are listed at /api/v1/docs."
METHOD_NOT_ALLOWED = "{method} is not allowed here; allowed: {allowed}."
BODY_NOT_JSON = "The request body is not valid JSON."
INVALID_INPUT = "Some fields are not valid: see field_errors."
SERVER_ERROR = "Something went wrong on our side; it has been logged."
TOO_LARGE = "The request body is larger than {limit} MiB."
SUSPICIOUS = "The request was refused as malformed."
STALE = "{conflict} Since version {version}: {changes}. Read it again and retry."


class Problem(Schema):
    """The body of every error response."""

    detail: str
    code: str
    field_errors: dict[str, list[str]]


class ApiError(Exception):
    """Raised by the endpoints to answer a problem body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field_errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field_errors = field_errors or {}
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    field_errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    body = {"detail": detail, "code": code, "field_errors": field_errors or {}, **extra}
    response = JsonResponse(body, status=status, encoder=DjangoJSONEncoder)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# The error responses every operation may answer, for the OpenAPI document.
ERRORS: dict[int, Any] = {
    status: Problem for status in (400, 401, 403, 404, 409, 412, 413, 422, 428, 429)
}


def _field_key(loc: Any) -> str:
    """pydantic's ``("body", "payload", "email")`` → ``email``; ``("query", "limit")`` →
    ``limit``; ``("header", "If-Match")`` → ``If-Match``."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    if parts and parts[0] in ("payload", "filters", "page"):
        parts = parts[1:] or ["body"]  # the body as a whole (not an object, missing)
    return ".".join(parts) or NON_FIELD_ERRORS


def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        message = str(error.get("msg", "Not valid."))
        if error.get("type") == "json_invalid":
            return problem(400, "malformed_body", BODY_NOT_JSON)
        fields.setdefault(_field_key(error.get("loc", ())), []).append(message)
    return problem(422, "invalid", INVALID_INPUT, field_errors=fields)


def django_field_errors(error: ValidationError) -> tuple[str, dict[str, list[str]]]:
    """(detail, field_errors) of a Django ValidationError, with its own messages."""
    if hasattr(error, "error_dict"):
        fields = {name: list(messages) for name, messages in error.message_dict.items()}
        general = fields.pop(NON_FIELD_ERRORS, [])
        detail = " ".join(general) if general else INVALID_INPUT
        return detail, fields
    return " ".join(error.messages), {}


def _django_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A service's refusal: a field's value (``field_errors``), or a rule of the record
    ("A qualified lead needs an owner"), with the message the page would show."""
    detail, fields = django_field_errors(exc)
    return problem(422, "invalid" if fields else "refused", detail, field_errors=fields)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem(
            401, "not_authenticated", NOT_AUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
        )
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return problem(400, "malformed_body", BODY_NOT_JSON)
    status = HTTPStatus(exc.status_code)
    return problem(exc.status_code, status.phrase.lower().replace(" ", "_"), str(exc))


def _conflict(request: HttpRequest, exc: LeadConflict) -> HttpResponse:
    """412: the lead changed since the version the client sent; the fields changed since
    are named, as the edit form names them."""
    labels = {str(getattr(f, "verbose_name", f.name)): f.name for f in Lead._meta.get_fields()}
    events = exc.changes
    changed: list[str] = []
    said = []
    for event in events:
        names = [labels.get(label, label) for label in event.changes]
        changed += [name for name in names if name not in changed]
        who = str(event.actor) if event.actor else "The system"
        said.append(
            f"{who} {event.get_action_display()}" + (f" ({', '.join(names)})" if names else "")
        )
    version = exc.lead.version
    return problem(
        412,
        "stale",
        STALE.format(
            conflict=CONFLICT,
            version=exc.since_version,
            changes="; ".join(said) if said else "it was saved again",
        ),
        headers={"ETag": f'"{version}"'},
        changed_fields=changed,
        current_version=version,
    )


def register_handlers(api: NinjaAPI) -> None:
    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        ApiError: lambda request, exc: problem(
            exc.status,
            exc.code,
            exc.detail,
            field_errors=exc.field_errors,
            headers=exc.headers,
            **exc.extra,
        ),
        NinjaValidationError: _validation_error,
        ValidationError: _django_validation_error,
        HttpError: _http_error,
        LeadConflict: _conflict,
        Http404: lambda request, exc: problem(404, "not_found", NOT_FOUND),
        PermissionDenied: lambda request, exc: problem(403, "forbidden", str(exc) or FORBIDDEN),
        RequestDataTooBig: lambda request, exc: problem(
            413,
            "too_large",
            TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)),
        ),
        SuspiciousOperation: lambda request, exc: problem(400, "suspicious", SUSPICIOUS),
        Exception: _unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Never an HTML page: a bug is logged (and reaches Sentry through the log) and
    answered as a problem body."""
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem(500, "server_error", SERVER_ERROR)


class ApiProblemMiddleware:
    """Under ``/api/``, an error that did not come from the API's own handlers (Django's
    404 for an unknown URL, ninja's 405, the 400 of a NUL byte) is answered as a problem
    body too, never as an HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        answer = self._problem(request, response)
        # The headers the middleware inside set (security headers, Vary…) stay.
        for name, value in response.items():
            if name.lower() not in ("content-type", "content-length") and name not in answer:
                answer[name] = value
        return answer

    def _problem(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        method = request.method or "GET"
        if status == 404:
            return problem(
                404, "not_found", NO_SUCH_ENDPOINT.format(method=method, path=request.path)
            )
        if status == 405:
            allowed = response.get("Allow", "")
            return problem(
                405,
                "method_not_allowed",
                METHOD_NOT_ALLOWED.format(method=method, allowed=allowed or "none"),
                headers={"Allow": allowed},
            )
        nul = "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        )
        if status == 400 and nul:
            return problem(400, "nul_refused", NUL_REFUSED)
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        text = response.content.decode(errors="replace").strip() if status < 500 else ""
        detail = text if text and "<" not in text and len(text) < 300 else phrase
        code = phrase.lower().replace(" ", "_") or "error"
        return problem(status, code, detail or SERVER_ERROR)
