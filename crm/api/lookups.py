"""The read-only lists the API's writes refer to by id: the people the caller may see
(owners), sources, lost reasons, tags and deal stages. Admins change them in the admin."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from accounts.models import User
from crm.api.auth import caller
from crm.api.errors import ERRORS
from deals.models import Stage
from leads.models import LostReason, Source, Tag

router = Router(tags=["lookups"])


class Person(Schema):
    id: int
    name: str
    email: str
    is_active: bool


class Choice(Schema):
    id: int
    name: str
    position: int
    is_active: bool


class TagOut(Schema):
    id: int
    name: str


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str
    is_active: bool


@router.get(
    "/users",
    response={200: list[Person], **ERRORS},
    url_name="user_list",
    summary="People you may see",
)
def user_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The people whose records the caller may see: themselves (reps), the teams they
    manage (managers), everyone (admins)."""
    return [
        {"id": user.pk, "name": str(user), "email": user.email, "is_active": user.is_active}
        for user in User.objects.visible_to(caller(request)).order_by(
            "first_name", "last_name", "email"
        )
    ]


@router.get(
    "/sources",
    response={200: list[Choice], **ERRORS},
    url_name="source_list",
    summary="Lead sources",
)
def source_list(request: HttpRequest) -> Any:
    caller(request)
    return list(Source.objects.values("id", "name", "position", "is_active"))


@router.get(
    "/lost-reasons",
    response={200: list[Choice], **ERRORS},
    url_name="lost_reason_list",
    summary="Lost and unqualified reasons",
)
def lost_reason_list(request: HttpRequest) -> Any:
    caller(request)
    return list(LostReason.objects.values("id", "name", "position", "is_active"))


@router.get("/tags", response={200: list[TagOut], **ERRORS}, url_name="tag_list", summary="Tags")
def tag_list(request: HttpRequest) -> Any:
    caller(request)
    return list(Tag.objects.values("id", "name"))


@router.get(
    "/stages",
    response={200: list[StageOut], **ERRORS},
    url_name="stage_list",
    summary="Deal stages",
)
def stage_list(request: HttpRequest) -> Any:
    caller(request)
    return list(Stage.objects.values("id", "name", "position", "probability", "kind", "is_active"))
