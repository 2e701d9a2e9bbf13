"""Reads for merging: which value of each field survives by default, the preview table,
and the merges a lead page can offer to undo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db import OperationalError, connection, transaction
from django.db.models import (
    CharField,
    Count,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Concat, JSONObject, Lower
from psycopg.errors import QueryCanceled

from leads.models import COMPANY_KEY, Lead, LeadMerge

# What a merge chooses, field by field. Fields that belong together travel together: the
# phone with its normalised form, a next action with its due time, consent with its
# when/how/wording, the campaign's UTM fields with the pages the lead came through.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "company": ("company",),
    "job_title": ("job_title",),
    "email": ("email",),
    "phone": ("phone", "phone_normalized"),
    "website": ("website",),
    "country": ("country",),
    "region": ("region",),
    "source": ("source",),
    "utm_campaign": (
        "utm_campaign",
        "utm_source",
        "utm_medium",
        "utm_term",
        "utm_content",
        "referrer",
        "landing_page",
    ),
    "rate": ("rate",),
    "budget": ("budget",),
    "authority": ("authority",),
    "need": ("need",),
    "timeline": ("timeline",),
    "estimated_value": ("estimated_value",),
    "next_action": ("next_action", "next_action_due"),
    "description": ("description",),
    "marketing_consent": ("marketing_consent", "consent_at", "consent_source", "consent_text"),
}
MERGE_LABELS = {
    "utm_campaign": "Campaign (UTM)",
    "next_action": "Next action",
    "marketing_consent": "Marketing consent",
}


def is_empty(value: Any) -> bool:
    return value in ("", None, False) or (hasattr(value, "code") and not value.code)


def default_choices(
    records: Sequence[Any], survivor: Any, fields: dict[str, tuple[str, ...]] = MERGE_FIELDS
) -> dict[str, int]:
    """Per field, the record whose value survives by default: the most recently updated
    one that has a value, else the survivor (all empty). Leads and contacts alike."""
    newest_first = sorted(records, key=lambda record: (record.updated_at, record.pk), reverse=True)
    chosen = {}
    for name in fields:
        having = [record for record in newest_first if not is_empty(getattr(record, name))]
        chosen[name] = having[0].pk if having else survivor.pk
    return chosen


def label_of(model: Any, name: str) -> str:
    if name in MERGE_LABELS:
        return MERGE_LABELS[name]
    return str(getattr(model._meta.get_field(name), "verbose_name", name)).capitalize()


def display(record: Any, name: str) -> str:
    """A field's value as a person reads it."""
    if hasattr(record, "display_value"):
        shown = str(record.display_value(name))
        if name == "next_action" and getattr(record, "next_action_due", None) is not None:
            shown = f"{shown} (due {record.next_action_due:%Y-%m-%d %H:%M})"
        return shown
    value = getattr(record, name)
    return "" if value is None else str(value)


@dataclass
class PreviewRow:
    name: str
    label: str
    values: list[tuple[Any, str]]  # each record and how its value reads
    chosen: int  # the lead whose value survives
    differs: bool  # the leads disagree (else the row is only for reading)


def merge_preview(
    records: Sequence[Any],
    survivor: Any,
    choices: dict[str, int],
    merge_fields: dict[str, tuple[str, ...]] = MERGE_FIELDS,
) -> list[PreviewRow]:
    """The preview table: one row per field, one column per record, the surviving value
    marked."""
    rows = []
    for name, fields in merge_fields.items():
        values = [(record, display(record, name)) for record in records]
        distinct = {tuple(getattr(record, f) for f in fields) for record in records}
        rows.append(
            PreviewRow(
                name=name,
                label=label_of(survivor, name),
                values=values,
                chosen=choices.get(name, survivor.pk),
                differs=len(distinct) > 1,
            )
        )
    return rows


def undoable_merges(lead: Lead) -> list[LeadMerge]:
    """The merges into this lead that can still be undone (the latest one while the lead is
    unchanged since), for the lead page's undo button."""
    return [
        merge
        for merge in LeadMerge.objects.filter(survivor=lead, undone_at__isnull=True)
        .select_related("actor")
        .order_by("-created_at", "-id")[:5]
        if merge.survivor_version == lead.version
    ]


# --- Groups of likely duplicates ----------------------------------------------------------

GROUP_PAGE = 20
GROUP_MAX_SIZE = 10  # a group is shown with its first ten leads; the merge takes ten at most


@dataclass
class DuplicateGroup:
    key: str
    reason: str
    confidence: int  # percent
    leads: list[Any]
    size: int  # how many leads share the key (may be more than shown)


@dataclass
class GroupPage:
    groups: list[DuplicateGroup]
    next_cursor: str | None


@dataclass(frozen=True)
class Matching:
    """One way duplicates are found: the key leads share, and how sure that makes us."""

    slug: str
    label: str
    reason: str
    confidence: int


MATCHINGS = {
    m.slug: m
    for m in [
        Matching("email", "Same email", "Same email address", 95),
        Matching("phone", "Same phone", "Same phone number (normalised)", 90),
        Matching("name", "Same name and company", "Same last name at the same company", 70),
        # Its confidence comes from the similarity of each group (similar_groups).
        Matching("similar", "Similar name and company", "Similar name and company", 0),
    ]
}


def _keyed(leads: QuerySet[Any], slug: str, company: str = "company") -> QuerySet[Any]:
    """Leads with the key of ``slug`` as ``key``. Each key is the expression of an index
    (``lead_email_idx``, ``lead_phone_idx``, ``lead_name_company_idx``), so the groups come
    in key order from an index scan and a page stops reading once it has its groups."""
    if slug == "email":
        return leads.exclude(email="").annotate(key=F("email"))
    if slug == "phone":
        return leads.exclude(phone_normalized="").annotate(key=F("phone_normalized"))
    # Conditions on the index's own expressions, so the scan starts past the empty names.
    return leads.annotate(
        key=Concat(Lower("last_name"), Value(" @ "), Lower(company), output_field=CharField()),
        last_lower=Lower("last_name"),
        company_lower=Lower(company),
    ).filter(last_lower__gt="", company_lower__gt="")


def duplicate_groups(
    leads: QuerySet[Any],
    *,
    slug: str,
    after: str | None = None,
    per_page: int = GROUP_PAGE,
    company: str = "company",
) -> GroupPage:
    """A page of groups of ``leads`` (already scoped to the user; contacts work too, with
    ``company="company__name"``) that share a key: keyset by key, ``per_page`` groups, two
    queries whatever the table's size."""
    matching = MATCHINGS[slug]
    keyed = _keyed(leads, slug, company)
    group_by = ["last_lower", "company_lower"] if slug == "name" else ["key"]
    rows = (
        keyed.order_by()
        .values(*group_by)
        .annotate(
            group_key=Max("key"),
            size=Count("pk"),
            ids=ArrayAgg("pk", order_by=("-updated_at", "-pk")),
            first_names=ArrayAgg(Lower("first_name")),
        )
        .filter(size__gt=1)
    )
    if after:
        if slug == "name":
            last, _, company = after.partition(" @ ")
            rows = rows.filter(
                Q(last_lower__gt=last) | Q(last_lower=last, company_lower__gt=company)
            )
        else:
            rows = rows.filter(key__gt=after)
    found = list(rows.order_by(*group_by)[: per_page + 1])
    more = len(found) > per_page
    found = found[:per_page]
    wanted = [pk for row in found for pk in row["ids"][:GROUP_MAX_SIZE]]
    model = leads.model
    by_id = {row.pk: row for row in model.objects.filter(pk__in=wanted).select_related("owner")}
    groups = []
    for row in found:
        confidence = matching.confidence
        if slug == "name" and len(set(row["first_names"])) == 1:
            confidence = 85  # the same first name too
        groups.append(
            DuplicateGroup(
                key=row["group_key"],
                reason=matching.reason,
                confidence=confidence,
                leads=[by_id[pk] for pk in row["ids"][:GROUP_MAX_SIZE] if pk in by_id],
                size=row["size"],
            )
        )
    next_cursor = found[-1]["group_key"] if more and found else None
    return GroupPage(groups=groups, next_cursor=next_cursor)


# Similar name and company: leads of one company (COMPANY_KEY) whose "first last company"
# are similar by trigrams, and whose last names too: "Jon Smyth, Acme Corp" and "John Smith,
# ACME Corp." score 0.48 (last names 0.33), "Jane Doe, Acme" 0.26. The last names keep out
# colleagues who share only a first name ("John Doe", 0.5) or a long company name.
SIMILAR_THRESHOLD = 0.4
SIMILAR_LAST_NAME = 0.3
NAME_COMPANY_KEY = Concat(
    Lower(Concat("first_name", Value(" "), "last_name", output_field=CharField())),
    Value(" "),
    COMPANY_KEY,
    output_field=CharField(),
)
# Leads read per page, whatever they yield: each costs one index probe of its company, so
# a page's work is bounded even where duplicates are rare; "More groups" reads on.
SIMILAR_CANDIDATES = 100
SIMILAR_TIMEOUT = "3s"


class TooSlow(Exception):
    """The search for similar names ran past ``SIMILAR_TIMEOUT`` (and was stopped)."""


def _similar_confidence(score: float) -> int:
    """50 % at the threshold, 90 % for the same name at the same company (no same email or
    phone, which have groups of their own and a higher confidence)."""
    return round(50 + 40 * (score - SIMILAR_THRESHOLD) / (1 - SIMILAR_THRESHOLD))


def _similarity(left: Any, right: Any) -> Func:
    """pg_trgm's similarity() of two expressions (TrigramSimilarity's stub takes a string
    for the second)."""
    return Func(left, right, function="SIMILARITY", output_field=FloatField())


def _all_exact(row: dict[str, Any]) -> bool:
    """Every similar lead has the candidate's email or phone: the group adds nothing to the
    exact groups."""
    email, phone = row["email"], row["phone_normalized"]
    return all(
        (email and m["email"] == email) or (phone and m["phone"] == phone) for m in row["similar"]
    )


def _similar_rows(page: QuerySet[Any, Any], candidates: int) -> list[dict[str, Any]]:
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner prices a probe per lead as if it read every lead of the company and
        # turns JIT on, which costs ~50 ms and saves nothing; the timeout is a backstop.
        cursor.execute(
            "SELECT set_config('jit', 'off', true), set_config('statement_timeout', %s, true)",
            [SIMILAR_TIMEOUT],
        )
        return list(page[:candidates])


def similar_groups(
    leads: QuerySet[Lead],
    *,
    after: str | None = None,
    per_page: int = GROUP_PAGE,
    candidates: int = SIMILAR_CANDIDATES,
) -> GroupPage:
    """A page of groups of similar name and company among ``leads`` (already scoped to the
    user), in two queries: the next ``candidates`` leads in (company key, id) order, each with
    its most similar leads of the same company (lead_company_key_idx), then the leads
    shown. A group is led by its lowest id, so it is shown once; one whose every pair has
    the same email or phone is left to those groups. Keyset by (company key, id)."""
    named = (
        leads.exclude(last_name="")
        .exclude(company="")
        .annotate(company_key=COMPANY_KEY, name_key=NAME_COMPANY_KEY)
        .filter(company_key__gt="")
    )
    neighbours = (
        named.filter(company_key=OuterRef("company_key"))
        .exclude(pk=OuterRef("pk"))
        .annotate(
            likeness=_similarity(F("name_key"), OuterRef("name_key")),
            last_likeness=_similarity(Lower("last_name"), Lower(OuterRef("last_name"))),
        )
        .filter(likeness__gte=SIMILAR_THRESHOLD, last_likeness__gte=SIMILAR_LAST_NAME)
        .order_by("-likeness", "pk")
        .values(
            match=JSONObject(id="pk", score="likeness", email="email", phone="phone_normalized")
        )[: GROUP_MAX_SIZE - 1]
    )
    rows = named.order_by("company_key", "pk")
    key, _, last_pk = (after or "").rpartition(" ")
    if key and last_pk.isascii() and last_pk.isdigit():
        rows = rows.filter(company_key__gte=key).filter(
            Q(company_key__gt=key) | Q(pk__gt=int(last_pk))
        )
    page = rows.annotate(similar=ArraySubquery(neighbours)).values(
        "pk", "company_key", "email", "phone_normalized", "similar"
    )
    try:
        found = _similar_rows(page, candidates)
    except OperationalError as error:
        if isinstance(error.__cause__, QueryCanceled):
            raise TooSlow from error
        raise
    read, matched = 0, []
    for row in found:
        read += 1
        similar = row["similar"]
        if similar and all(m["id"] > row["pk"] for m in similar) and not _all_exact(row):
            matched.append(row)
            if len(matched) == per_page:
                break
    wanted = [row["pk"] for row in matched] + [m["id"] for row in matched for m in row["similar"]]
    by_id = {lead.pk: lead for lead in Lead.objects.filter(pk__in=wanted).select_related("owner")}
    groups = []
    for row in matched:
        lead = by_id[row["pk"]]
        members = [lead] + [by_id[m["id"]] for m in row["similar"] if m["id"] in by_id]
        groups.append(
            DuplicateGroup(
                key=f"{lead.first_name} {lead.last_name}, {lead.company}".strip(),
                reason=MATCHINGS["similar"].reason,
                confidence=_similar_confidence(min(m["score"] for m in row["similar"])),
                leads=members,
                size=len(members),
            )
        )
    more = read < len(found) or len(found) == candidates
    last = found[read - 1] if found else None
    next_cursor = f"{last['company_key']} {last['pk']}" if more and last else None
    return GroupPage(groups=groups, next_cursor=next_cursor)
