"""The shapes the API reads and writes (pydantic, through ninja): the OpenAPI document
is generated from them. Input is only typed here; the rules (lengths, formats, what a
status move needs) stay in the models and services, which answer with their own messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field

from crm.validators import ID_MAX
from leads.selectors import LEAD_SORTS

NUL_IN_TEXT = "Text cannot contain a NUL character."


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold one: it would reach the database as an error.
    if "\x00" in value:
        raise ValueError(NUL_IN_TEXT)
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Money = Annotated[Decimal, Field(allow_inf_nan=False)]
StatusValue = Literal[
    "new",
    "not_contacted",
    "contacted",
    "qualified",
    "unqualified",
    "converted",
    "lost",
    "junk",
    "canceled",
]
RateValue = Literal["", "hot", "warm", "cold"]
AuthorityValue = Literal["", "decision_maker", "influencer", "user"]
TimelineValue = Literal["", "now", "quarter", "year", "later"]
NoteKind = Literal["call", "email", "meeting", "note"]
SortValue = Literal[tuple(LEAD_SORTS)]  # type: ignore[valid-type]


class Input(Schema):
    """Unknown fields are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


# --- Out ----------------------------------------------------------------------------------


class UserRef(Schema):
    id: int
    name: str
    email: str


class NamedRef(Schema):
    id: int
    name: str


class LeadItem(Schema):
    """A lead as the list shows it."""

    id: int
    number: str
    first_name: str
    last_name: str
    company: str
    email: str
    phone: str
    status: StatusValue
    rate: RateValue
    score: int | None = Field(description="0–100; null while the lead was never scored")
    next_action: str
    next_action_due: datetime | None
    owner: UserRef | None
    source: NamedRef | None
    team_id: int | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="The lead's version, also sent as its ETag")
    url: str = Field(description="The lead's page in the app")


class LeadDetail(LeadItem):
    """Everything about one lead."""

    job_title: str
    website: str
    country: str
    region: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    budget: Decimal | None
    authority: AuthorityValue
    need: str
    timeline: TimelineValue
    estimated_value: Decimal | None
    lost_reason: NamedRef | None
    description: str
    marketing_consent: bool
    consent_at: datetime | None
    consent_source: str
    first_contacted_at: datetime | None
    qualified_at: datetime | None
    converted_at: datetime | None
    closed_at: datetime | None
    sla_due_at: datetime | None
    last_activity_at: datetime


class LeadPage(Schema):
    results: list[LeadItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Note(Schema):
    id: int
    kind: str
    body: str
    outcome: str
    next_step: str
    author: UserRef | None
    created_at: datetime


class NotePage(Schema):
    results: list[Note]
    next_cursor: str | None


class Duplicate(Schema):
    id: int
    number: str
    name: str
    company: str
    email: str
    owner: UserRef | None
    url: str


class MatchingContact(Schema):
    id: int
    name: str
    email: str
    company: str | None


class DuplicateProblem(Schema):
    detail: str
    code: str
    field_errors: dict[str, list[str]]
    duplicates: list[Duplicate]
    hidden_duplicates: int
    hints: list[str]
    contacts: list[MatchingContact]


class StaleProblem(Schema):
    detail: str
    code: str
    field_errors: dict[str, list[str]]
    changed_fields: list[str]
    current_version: int


# --- In -----------------------------------------------------------------------------------


class LeadFields(Input):
    """The fields the edit form edits (``leads.services.EDITABLE_FIELDS``), plus tags."""

    number: Text | None = Field(None, description="Leave out for the next number")
    first_name: Text = ""
    last_name: Text = ""
    company: Text = ""
    job_title: Text = ""
    email: Text = ""
    phone: Text = ""
    website: Text = ""
    country: Text = Field("", description="ISO 3166 code, e.g. DE")
    region: Text = ""
    source: Id | None = Field(None, description="A source's id (GET /sources)")
    utm_source: Text = ""
    utm_medium: Text = ""
    utm_campaign: Text = ""
    rate: RateValue = ""
    budget: Money | None = None
    authority: AuthorityValue = ""
    need: Text = ""
    timeline: TimelineValue = ""
    estimated_value: Money | None = None
    next_action: Text = ""
    next_action_due: AwareDatetime | None = Field(None, description="With its UTC offset")
    description: Text = ""
    marketing_consent: bool = False
    consent_at: AwareDatetime | None = None
    consent_source: Text = ""
    tags: list[Id] | None = Field(None, description="Tag ids (GET /tags); replaces them all")
    new_tags: list[Text] = Field([], description="Tag names to add, made if need be")


class LeadCreate(LeadFields):
    owner: Id | None = Field(
        None,
        description="A user's id (GET /users); managers and admins only. Reps own "
        "what they create; left out, a manager's lead goes through the assignment rules.",
    )
    allow_duplicate: bool = Field(
        False, description="Create it even if likely duplicates exist (else 409)"
    )


class LeadUpdate(LeadFields):
    """Only the fields sent are changed."""


class StatusChange(Input):
    status: StatusValue
    reason: Id | None = Field(
        None, description="A lost reason's id (GET /lost-reasons): Lost and Unqualified need one"
    )


class Assignment(Input):
    owner: Id | None = Field(description="A user's id, or null for the unassigned pool")


class NoteCreate(Input):
    kind: NoteKind = "note"
    body: Text
    outcome: Text = ""
    next_step: Text = ""


class LeadQuery(Schema):
    """The list page's filters (``leads.filters.LeadFilter``), its sorts and its cursor."""

    q: Text | None = Field(None, description="Name, company, email, phone or lead number")
    status: list[Literal["open", StatusValue]] | None = None
    rate: RateValue | None = None
    owner: Text | None = Field(None, description="me, none, or a user's id")
    team: Text | None = None
    source: Text | None = None
    tag: list[Text] | None = None
    tag_match: Literal["any", "all"] | None = None
    idle: Text | None = Field(None, description="No activity for this many days")
    created_after: Text | None = Field(None, description="YYYY-MM-DD")
    created_before: Text | None = Field(None, description="YYYY-MM-DD")
    due: Literal["overdue", "today", "missing"] | None = None
    sla: Literal["breached"] | None = None
    score_min: Text | None = None
    score_max: Text | None = None
    score_band: Literal["hot", "warm", "cold"] | None = None
    reached: Literal["contacted", "qualified"] | None = None
    response: Literal["within", "late"] | None = None
    lost_reason: Text | None = Field(None, description="none, or a lost reason's id")
    no_source: Literal["1"] | None = None
    import_batch: Text | None = None
    sort: SortValue | None = None  # type: ignore[valid-type]
    cursor: Annotated[Text, Field(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class PageQuery(Schema):
    cursor: Annotated[Text, Field(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)
