"""Refuse input no page can use, before any view sees it."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict

# PostgreSQL text cannot hold a NUL byte: one in a search or a form field would reach the
# database as an error. Nobody types one; it is refused as a bad request (a 400 page).
NUL_REFUSED = "The request contained a NUL character, which no field accepts."


def _has_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in data.getlist(key)) for key in data)


# Endpoints that take raw bytes from machines (an email, with whatever it holds) and must
# store them before judging them: the view reads the body itself.
RAW_BODY_PREFIXES = ("/inbound/",)
# The REST API reads JSON bodies, and refuses a NUL in them field by field (crm.api.schemas);
# parsing its body as a form here would consume a multipart stream it then cannot read.
JSON_BODY_PREFIXES = ("/api/",)


class RejectNulMiddleware:
    """A NUL byte anywhere in the path, the query string or a posted form is a 400 (not
    for ``RAW_BODY_PREFIXES``, whose views keep what they were sent)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(RAW_BODY_PREFIXES) and "\x00" not in request.path:
            return self.get_response(request)
        if (
            "\x00" in request.path
            or _has_nul(request.GET)
            or (
                request.method == "POST"
                and not request.path.startswith(JSON_BODY_PREFIXES)
                and _has_nul(request.POST)
            )
        ):
            raise BadRequest(NUL_REFUSED)
        return self.get_response(request)
