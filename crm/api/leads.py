"""``/api/v1/leads``: the list with the list page's filters, search and keyset cursor;
one lead; create, update, status, assign, claim; notes. Every write goes through the
service the page's form calls, with the same checks first (another rep's lead is a 404,
a lead the caller may not work on a 403 with the page's message).

Optimistic locking: every lead response carries ``ETag: "<version>"``; a change to an
existing lead needs ``If-Match`` with it (428 without; 412 naming the fields changed
since, when stale). Notes are the exception the pages make too: a note is work on the
lead, not a change to it, so If-Match is checked when sent but not required.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, Query, Router, Status

from accounts.models import User
from crm.api import schemas
from crm.api.auth import caller
from crm.api.errors import ERRORS, ApiError, django_field_errors
from crm.pagination import Sort, keyset_page
from leads import services
from leads.filters import LeadFilter
from leads.models import Lead, LeadNote, LostReason, Source, Tag
from leads.selectors import DEFAULT_LEAD_SORT, LEAD_SORTS, choices_for
from leads.views import duplicates_for

router = Router(tags=["leads"])

IF_MATCH_MISSING = (
    "Send If-Match with the lead's ETag (from your last read of it): a change without it "
    "could overwrite someone else's."
)
IF_MATCH_INVALID = 'If-Match must be the ETag of the lead as you read it, e.g. "4".'
CURSOR_INVALID = "That cursor is not one of this list's; start again without it."
DUPLICATES_FOUND = (
    "Likely duplicates exist (same email, same phone, or same name at the same company). "
    "Check them, or send allow_duplicate: true to create it anyway."
)
OWNER_NOT_ASSIGNABLE = "No active user you can assign by that id."
SOURCE_UNKNOWN = "No active source by that id."
REASON_UNKNOWN = "No active lost reason by that id."
TAGS_UNKNOWN = "No tags by these ids: {ids}."
NOTE_SORT = Sort("-created", "Newest first", "created_at", descending=True)
ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,10})"?\s*')

# A list row's columns, and what the API sends besides.
API_COLUMNS = ("team_id", "updated_at", "last_activity_at", "version")


def _tag_names() -> ArraySubquery:
    return ArraySubquery(Tag.objects.filter(leads=OuterRef("pk")).order_by("name").values("name"))


# --- Reading ------------------------------------------------------------------------------


def _user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": str(user), "email": user.email}


def _named(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _item(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "number": lead.number,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "email": lead.email,
        "phone": lead.phone,
        "status": lead.status,
        "rate": lead.rate,
        "score": lead.score if lead.scored_at else None,
        "next_action": lead.next_action,
        "next_action_due": lead.next_action_due,
        "owner": _user_ref(lead.owner),
        "source": _named(lead.source),
        "team_id": lead.team_id,
        "tags": list(lead.tag_names or []),  # type: ignore[attr-defined]
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "version": lead.version,
        "url": lead.get_absolute_url(),
    }


def _detail(lead: Lead) -> dict[str, Any]:
    return {
        **_item(lead),
        **{
            name: getattr(lead, name)
            for name in (
                "job_title",
                "website",
                "region",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_term",
                "utm_content",
                "budget",
                "authority",
                "need",
                "timeline",
                "estimated_value",
                "description",
                "marketing_consent",
                "consent_at",
                "consent_source",
                "first_contacted_at",
                "qualified_at",
                "converted_at",
                "closed_at",
                "sla_due_at",
                "last_activity_at",
            )
        },
        "country": lead.country.code or "",
        "lost_reason": _named(lead.lost_reason),
    }


def _lead_or_404(user: User, lead_id: int) -> Lead:
    """Every lead endpoint starts here: ``visible_to`` or 404 (a lead merged away says
    which lead it lives on in, if the caller can see that one)."""
    lead = (
        Lead.objects.visible_to(user)
        .select_related("owner", "source", "lost_reason")
        .annotate(tag_names=_tag_names())
        .filter(pk=lead_id)
        .first()
    )
    if lead is not None:
        return lead
    scoped = Lead.objects.visible_with_merged(user)
    merged = scoped.filter(pk=lead_id, merged_into__isnull=False).first()
    survivor = scoped.survivor_of(merged) if merged is not None else None
    if merged is not None and survivor is not None:
        raise ApiError(
            404,
            "merged",
            f"{merged.number} was merged into {survivor.number}.",
            survivor_id=survivor.pk,
        )
    raise ApiError(404, "not_found", "There is no such lead, or you cannot see it.")


def _answer(response: HttpResponse, lead: Lead) -> dict[str, Any]:
    response["ETag"] = f'"{lead.version}"'
    return _detail(lead)


@router.get(
    "/leads",
    response={200: schemas.LeadPage, **ERRORS},
    url_name="lead_list",
    summary="List leads",
)
def lead_list(request: HttpRequest, filters: Query[schemas.LeadQuery]) -> dict[str, Any]:
    """The list page's filters, search (``q``), sorts and keyset ``cursor``: pass
    ``next_cursor`` back as ``cursor`` for the next page (null on the last)."""
    user = caller(request)
    queryset = Lead.objects.visible_to(user).for_list(*API_COLUMNS).annotate(tag_names=_tag_names())
    filterset = LeadFilter(
        request.GET or None, queryset=queryset, user=user, choices=choices_for(user)
    )
    if filterset.is_bound and not filterset.is_valid():
        fields = {name: list(errors) for name, errors in filterset.errors.items()}
        raise ApiError(422, "invalid", "Some filters are not valid.", field_errors=fields)
    page = keyset_page(
        filterset.qs,
        sort_key=filters.sort,
        after=filters.cursor,
        per_page=filters.limit,
        sorts=LEAD_SORTS,
        default_sort=DEFAULT_LEAD_SORT,
    )
    if page.cursor_invalid:
        raise ApiError(
            400, "invalid_cursor", CURSOR_INVALID, field_errors={"cursor": [CURSOR_INVALID]}
        )
    return {"results": [_item(lead) for lead in page.rows], "next_cursor": page.next_cursor}


@router.get(
    "/leads/{lead_id}",
    response={200: schemas.LeadDetail, **ERRORS},
    url_name="lead_detail",
    summary="One lead",
)
def lead_detail(
    request: HttpRequest, response: HttpResponse, lead_id: schemas.Id
) -> dict[str, Any]:
    return _answer(response, _lead_or_404(caller(request), lead_id))


# --- Checks every write makes ------------------------------------------------------------


def _expected_version(if_match: str | None, *, required: bool = True) -> int | None:
    if if_match is None or not if_match.strip():
        if required:
            raise ApiError(428, "if_match_required", IF_MATCH_MISSING)
        return None
    match = ETAG.fullmatch(if_match)
    if match is None:
        raise ApiError(400, "if_match_invalid", IF_MATCH_INVALID)
    return int(match[1])


def _require_work(user: User, lead: Lead) -> None:
    """The page's check before an edit: a rep works on their own leads only."""
    if services.can_work_on(user, lead):
        return
    if lead.owner_id is None:
        raise ApiError(403, "claim_first", services.CLAIM_FIRST)
    raise ApiError(403, "not_your_lead", services.NOT_YOUR_LEAD.format(owner=lead.owner))


def _field_refusal(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid", message, field_errors={name: [message]})


def _assignable(user: User, owner_id: int) -> User:
    owner = User.objects.visible_to(user).filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise _field_refusal("owner", OWNER_NOT_ASSIGNABLE)
    return owner


def _service_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the services take it: ids as rows, tags apart."""
    data = dict(payload)
    if data.get("source") is not None:
        source = Source.objects.filter(pk=data["source"], is_active=True).first()
        if source is None:
            raise _field_refusal("source", SOURCE_UNKNOWN)
        data["source"] = source
    if data.get("tags") is not None:
        wanted = set(data["tags"])
        found = list(Tag.objects.filter(pk__in=sorted(wanted)))
        missing = wanted - {tag.pk for tag in found}
        if missing:
            raise _field_refusal(
                "tags", TAGS_UNKNOWN.format(ids=", ".join(str(pk) for pk in sorted(missing)))
            )
        data["tags"] = found
    if "number" in data and data["number"] is None:
        del data["number"]
    return data


def _refused(error: ValidationError) -> ApiError:
    detail, fields = django_field_errors(error)
    return ApiError(422, "invalid" if fields else "refused", detail, field_errors=fields)


# --- Writing ------------------------------------------------------------------------------


@router.post(
    "/leads",
    response={201: schemas.LeadDetail, 409: schemas.DuplicateProblem, **ERRORS},
    url_name="lead_create",
    summary="Create a lead",
)
def lead_create(
    request: HttpRequest, response: HttpResponse, payload: schemas.LeadCreate
) -> Status[dict[str, Any]]:
    """Through ``lead_create``, as the new-lead page. Likely duplicates (the page's
    warning) answer 409 with what the caller may see of them, unless ``allow_duplicate``."""
    user = caller(request)
    data = _service_data(payload.model_dump(exclude={"owner", "allow_duplicate"}))
    owner = None
    if payload.owner is not None:
        owner = _assignable(user, payload.owner)
        if owner != user and not services.can_assign(user):
            raise ApiError(403, "assign_not_allowed", services.ASSIGN_NOT_ALLOWED)
    tags = data.pop("tags", None) or []
    new_tags = data.pop("new_tags", [])
    if not payload.allow_duplicate:
        found = duplicates_for(user, data)
        if found["visible"] or found["hidden_count"] or found["contacts"]:
            raise ApiError(
                409,
                "duplicate",
                DUPLICATES_FOUND,
                duplicates=[_duplicate(lead) for lead in found["visible"]],
                hidden_duplicates=found["hidden_count"],
                hints=found["hidden_hints"],
                contacts=[_contact(contact) for contact in found["contacts"]],
            )
    try:
        lead = services.lead_create(actor=user, owner=owner, tags=tags, new_tags=new_tags, **data)
    except ValidationError as error:
        raise _refused(error) from error
    response["Location"] = reverse("api:lead_detail", kwargs={"lead_id": lead.pk})
    return Status(201, _answer(response, _lead_or_404(user, lead.pk)))


def _duplicate(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "number": lead.number,
        "name": lead.full_name,
        "company": lead.company,
        "email": lead.email,
        "owner": _user_ref(lead.owner),
        "url": lead.get_absolute_url(),
    }


def _contact(contact: Any) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "name": str(contact),
        "email": contact.email,
        "company": str(contact.company) if contact.company_id else None,
    }


IfMatch = Header(None, alias="If-Match", description='The lead\'s ETag, e.g. "4"')


@router.patch(
    "/leads/{lead_id}",
    response={200: schemas.LeadDetail, 412: schemas.StaleProblem, **ERRORS},
    url_name="lead_update",
    summary="Change a lead's details",
)
def lead_update(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: schemas.Id,
    payload: schemas.LeadUpdate,
    if_match: str | None = IfMatch,
) -> dict[str, Any]:
    """Through ``lead_update``, as the edit form: only the fields sent change."""
    user = caller(request)
    lead = _lead_or_404(user, lead_id)
    if lead.status == Lead.Status.CONVERTED:
        raise ApiError(422, "refused", services.CONVERTED_IS_READ_ONLY)
    _require_work(user, lead)
    version = _expected_version(if_match)
    data = _service_data(payload.model_dump(exclude_unset=True))
    try:
        services.lead_update(lead=lead, actor=user, expected_version=version, **data)
    except ValidationError as error:
        raise _refused(error) from error
    return _answer(response, _lead_or_404(user, lead_id))


@router.post(
    "/leads/{lead_id}/status",
    response={200: schemas.LeadDetail, 412: schemas.StaleProblem, **ERRORS},
    url_name="lead_status",
    summary="Move a lead to another status",
)
def lead_change_status(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: schemas.Id,
    payload: schemas.StatusChange,
    if_match: str | None = IfMatch,
) -> dict[str, Any]:
    """Through ``lead_change_status``: the same moves as the page's buttons (Converted
    only through conversion; Lost and Unqualified need a reason; Qualified an owner and
    a next action; reopening is for managers)."""
    user = caller(request)
    lead = _lead_or_404(user, lead_id)
    _require_work(user, lead)
    version = _expected_version(if_match)
    reason = None
    if payload.reason is not None:
        reason = LostReason.objects.filter(pk=payload.reason, is_active=True).first()
        if reason is None:
            raise _field_refusal("reason", REASON_UNKNOWN)
    try:
        services.lead_change_status(
            lead=lead, actor=user, status=payload.status, reason=reason, expected_version=version
        )
    except ValidationError as error:
        raise _refused(error) from error
    return _answer(response, _lead_or_404(user, lead_id))


@router.post(
    "/leads/{lead_id}/assign",
    response={200: schemas.LeadDetail, 412: schemas.StaleProblem, **ERRORS},
    url_name="lead_assign",
    summary="Give a lead to someone, or back to the pool",
)
def lead_assign(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: schemas.Id,
    payload: schemas.Assignment,
    if_match: str | None = IfMatch,
) -> dict[str, Any]:
    """Through ``lead_assign_owner``: managers and admins, to the people they manage."""
    user = caller(request)
    lead = _lead_or_404(user, lead_id)
    if not services.can_assign(user):
        raise ApiError(403, "assign_not_allowed", services.ASSIGN_NOT_ALLOWED)
    version = _expected_version(if_match)
    owner = _assignable(user, payload.owner) if payload.owner is not None else None
    try:
        services.lead_assign_owner(lead=lead, actor=user, owner=owner, expected_version=version)
    except ValidationError as error:
        raise _refused(error) from error
    return _answer(response, _lead_or_404(user, lead_id))


@router.post(
    "/leads/{lead_id}/claim",
    response={200: schemas.LeadDetail, 412: schemas.StaleProblem, **ERRORS},
    url_name="lead_claim",
    summary="Take an unassigned lead",
)
def lead_claim(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: schemas.Id,
    if_match: str | None = IfMatch,
) -> dict[str, Any]:
    """Through ``lead_claim``: first come, first served."""
    user = caller(request)
    lead = _lead_or_404(user, lead_id)
    version = _expected_version(if_match)
    try:
        services.lead_claim(lead=lead, actor=user, expected_version=version)
    except ValidationError as error:
        raise _refused(error) from error
    return _answer(response, _lead_or_404(user, lead_id))


def _note(note: LeadNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "kind": note.kind,
        "body": note.body,
        "outcome": note.outcome,
        "next_step": note.next_step,
        "author": _user_ref(note.author),
        "created_at": note.created_at,
    }


@router.get(
    "/leads/{lead_id}/notes",
    response={200: schemas.NotePage, **ERRORS},
    url_name="lead_notes",
    summary="A lead's notes, newest first",
)
def lead_notes(
    request: HttpRequest, lead_id: schemas.Id, page: Query[schemas.PageQuery]
) -> dict[str, Any]:
    lead = _lead_or_404(caller(request), lead_id)
    found = keyset_page(
        LeadNote.objects.filter(lead=lead).select_related("author"),
        sort_key=None,
        after=page.cursor,
        per_page=page.limit,
        sorts={NOTE_SORT.key: NOTE_SORT},
        default_sort=NOTE_SORT.key,
    )
    if found.cursor_invalid:
        raise ApiError(
            400, "invalid_cursor", CURSOR_INVALID, field_errors={"cursor": [CURSOR_INVALID]}
        )
    return {"results": [_note(note) for note in found.rows], "next_cursor": found.next_cursor}


@router.post(
    "/leads/{lead_id}/notes",
    response={201: schemas.Note, 412: schemas.StaleProblem, **ERRORS},
    url_name="lead_add_note",
    summary="Log a call, email, meeting or note",
)
def lead_add_note(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: schemas.Id,
    payload: schemas.NoteCreate,
    if_match: str | None = IfMatch,
) -> Status[dict[str, Any]]:
    """Through ``lead_add_note``; a logged call, email or meeting is the first contact of
    a new lead (which then moves to Contacted: the ETag sent back is the lead's new one)."""
    user = caller(request)
    lead = _lead_or_404(user, lead_id)
    _require_work(user, lead)
    version = _expected_version(if_match, required=False)
    if version is not None and version != lead.version:
        raise services.LeadConflict(lead, since_version=version)
    try:
        note = services.lead_add_note(lead=lead, actor=user, **payload.model_dump())
    except ValidationError as error:
        raise _refused(error) from error
    current = Lead.objects.filter(pk=lead.pk).values_list("version", flat=True).first()
    response["ETag"] = f'"{current}"'
    return Status(201, _note(note))
