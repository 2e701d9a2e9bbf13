"""Realistic fake leads at volume, for performance work.

``manage.py generate_leads --count 1000000`` loads a million leads, ~1.5 million notes and
~1 million status events in a few minutes: rows are built in Python from pre-generated pools
(Faker is far too slow to call per row) and sent with PostgreSQL ``COPY``.

Every row satisfies the model's check constraints (the database refuses it otherwise). Lead
ids are reserved from the table's identity sequence before a batch is built, so notes, tags
and audit events can point at their lead without reading anything back; ``number`` is left to
its database default and ``search`` is a generated column.

Loads over 100,000 leads drop the table's non-unique secondary indexes and build them again at
the end, in the same transaction as the load (all or nothing; the table is locked meanwhile).
The index definitions are read from ``pg_indexes`` first and re-created verbatim.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from accounts import services
from accounts.models import Membership, Team, User
from accounts.roles import Role
from leads.models import Lead, LeadStatus, LostReason, ResponseTarget, Source, Tag
from leads.sla.services import add_target_minutes

DAY = 86_400.0
SPAN_DAYS = 3 * 365
DROP_INDEXES_ABOVE = 100_000
MIN_OWNERS = 10
POOL_SIZE = 3_000

LEAD_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "email",
    "phone",
    "phone_normalized",
    "website",
    "country",
    "region",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "status",
    "rate",
    "score",
    "budget",
    "authority",
    "need",
    "timeline",
    "estimated_value",
    "next_action",
    "next_action_due",
    "lost_reason_id",
    "description",
    "marketing_consent",
    "consent_at",
    "consent_source",
    "first_contacted_at",
    "first_response_time",
    "sla_due_at",
    "sla_alerted_at",
    "sla_escalated_at",
    "qualified_at",
    "converted_at",
    "closed_at",
    "created_by_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "version",
    "owner_id",
    "team_id",
    "source_id",
]
LOADED_TABLES = ["leads_lead", "leads_lead_tags", "leads_leadnote", "crm_auditevent"]
TAG_COLUMNS = ["lead_id", "tag_id"]
NOTE_COLUMNS = ["lead_id", "kind", "body", "outcome", "next_step", "author_id", "created_at"]
EVENT_COLUMNS = [
    "target_type_id",
    "target_id",
    "actor_id",
    "action",
    "changes",
    "target_version",
    "note",
    "occurred_at",
]

# The sales team made when the database has too few people to own leads (idempotent by email).
PERF_TEAMS = {
    "Enterprise Sales": [
        ("Helena", "Brooks"),
        ("Marcus", "Webb"),
        ("Priya", "Raman"),
        ("Tomás", "Ortega"),
        ("Grace", "Kim"),
        ("Oliver", "Hayes"),
        ("Sofia", "Lindqvist"),
    ],
    "SMB Sales": [
        ("Daniel", "Okafor"),
        ("Chloe", "Martin"),
        ("Lukas", "Becker"),
        ("Amara", "Nwosu"),
        ("Ethan", "Clarke"),
        ("Yuki", "Tanaka"),
        ("Isabel", "Moreau"),
    ],
    "Partner Sales": [
        ("Victor", "Almeida"),
        ("Hannah", "Schulz"),
        ("Noah", "Fischer"),
        ("Leila", "Haddad"),
        ("Ryan", "Murphy"),
        ("Zoe", "Campbell"),
    ],
}
PERF_TIMEZONES = ["America/New_York", "America/Chicago", "Europe/London", "Europe/Berlin"]

# Status mix by the lead's age: recent leads are mostly still open, old ones mostly closed.
# Overall about 15% new, 22% contacted, 60% closed one way or another.
STATUS_WEIGHTS = {
    30: {
        "new": 45,
        "not_contacted": 15,
        "contacted": 25,
        "qualified": 7,
        "unqualified": 2,
        "converted": 1,
        "lost": 2,
        "junk": 2,
        "canceled": 1,
    },
    180: {
        "new": 15,
        "not_contacted": 6,
        "contacted": 32,
        "qualified": 9,
        "unqualified": 8,
        "converted": 10,
        "lost": 13,
        "junk": 4,
        "canceled": 3,
    },
    SPAN_DAYS + 1: {
        "new": 14,
        "not_contacted": 4,
        "contacted": 16,
        "qualified": 3,
        "unqualified": 11,
        "converted": 17,
        "lost": 23,
        "junk": 7,
        "canceled": 5,
    },
}
OPEN = {"new", "not_contacted", "contacted", "qualified"}
UNASSIGNED_SHARE = {"new": 0.35, "not_contacted": 0.1, "junk": 0.2}
LOST_REASON_SHARE = {"lost": 1.0, "unqualified": 1.0, "junk": 0.5, "canceled": 0.3}
CONTACTED = {"contacted", "qualified", "unqualified", "converted", "lost"}
# The status a lead was in before its current one (choices, drawn at random).
PREVIOUS = {
    "not_contacted": ["new"],
    "contacted": ["new", "new", "new", "not_contacted"],
    "qualified": ["contacted"],
    "converted": ["qualified"],
    "lost": ["contacted", "contacted", "qualified"],
    "unqualified": ["contacted", "contacted", "new"],
    "junk": ["new"],
    "canceled": ["contacted", "new"],
}
EARLIER_EVENT_SHARE = 0.2
NOTE_COUNTS = {
    "new": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
    "not_contacted": [0, 1],
    "contacted": [1, 1, 2, 2, 3],
    "qualified": [2, 3, 3, 4],
    "unqualified": [1, 1, 2],
    "converted": [2, 2, 3, 4],
    "lost": [1, 2, 2, 3],
    "junk": [0, 0, 0, 1],
    "canceled": [0, 1, 1, 2],
}
NOTE_KINDS = {"call": 40, "email": 30, "meeting": 10, "note": 20}
OUTCOMES = {
    "call": ["Connected", "Left voicemail", "No answer", "Asked to call back", "Interested", ""],
    "email": ["Sent", "Sent", "Replied", ""],
    "meeting": ["Demo done", "Needs a proposal", "Decision maker joined", "Rescheduled"],
    "note": [""],
}
NOTE_TEMPLATES = {
    "call": [
        "Called {first}. {p1}",
        "Spoke with {first} for 15 minutes. {p1} {p2}",
        "Left a voicemail for {first}. {p1}",
        "Call with {first} at {company}: {p1}",
    ],
    "email": [
        "Emailed {first} the pricing sheet. {p1}",
        "Follow-up email sent to {first}. {p1}",
        "{first} replied by email: {p1}",
    ],
    "meeting": [
        "Meeting with {first} and their team at {company}. {p1} {p2}",
        "Product demo for {first}. {p1}",
    ],
    "note": ["{p1}", "{p1} {p2}", "Came in through the {source} channel. {p1}"],
}
PHRASES = [
    "They are comparing us with two other vendors.",
    "Budget is approved for next quarter.",
    "Needs sign-off from finance before moving on.",
    "Current contract ends in three months.",
    "Asked for a case study from their industry.",
    "Interested in the annual plan.",
    "Wants a trial for five users first.",
    "Decision expected by the end of the month.",
    "Not the right person; referred us to the head of operations.",
    "Very price sensitive.",
    "Using spreadsheets today and outgrowing them.",
    "Had a bad experience with a previous supplier.",
    "Will loop in their IT team about the integration.",
    "Asked us to call back after the holidays.",
    "Requested a quote in EUR.",
    "Team of about 40 people, growing fast.",
    "Security questionnaire to fill in.",
    "Champion is enthusiastic, the CFO less so.",
    "Mentioned a competitor's discount.",
    "No clear timeline yet.",
    "Good fit for the premium tier.",
    "Sent over the onboarding plan.",
    "Wants references from two customers.",
    "Procurement needs a vendor form.",
    "Follow up next week.",
]
NEXT_ACTIONS = [
    "Call back",
    "Send proposal",
    "Follow up by email",
    "Schedule a demo",
    "Send pricing",
    "Check in after trial",
    "Book a meeting with the decision maker",
    "Send case study",
    "Confirm budget",
    "Send contract",
]
NEEDS = [
    "Replace spreadsheets for tracking customers",
    "Faster response to inbound requests",
    "One place for the whole sales team",
    "Better reporting for management",
    "Integrate with their accounting software",
    "Cut the time spent on manual data entry",
]
COUNTRIES = {"US": 50, "GB": 14, "DE": 9, "FR": 7, "CA": 7, "AU": 4, "NL": 3, "": 6}
CA_PROVINCES = ["ON", "QC", "BC", "AB", "MB", "NS"]
SOURCE_WEIGHTS = {
    "web form": 30,
    "email": 12,
    "referral": 12,
    "cold call": 10,
    "campaign": 12,
    "social": 8,
    "event": 6,
    "import": 7,
    "manual": 3,
}
UTM = {
    "utm_source": ["google", "linkedin", "facebook", "newsletter", "bing", "partner-site"],
    "utm_medium": ["cpc", "email", "social", "organic", "display"],
    "utm_campaign": ["spring-promo", "webinar-series", "q4-push", "retargeting", "brand"],
}
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "gmx.de"]
TLDS = [".com", ".com", ".com", ".io", ".net", ".co", ".org"]
COMPANY_NOISE = re.compile(
    r"\b(and|und|et|sons|son|inc|llc|ltd|plc|group|gmbh|kg|ag|sa|sarl|sas|co|fils|cie)\b"
)
RATES = ["hot"] * 15 + ["warm"] * 35 + ["cold"] * 30 + [""] * 20
RATE_SCORES = {"hot": (70, 100), "warm": (40, 80), "cold": (0, 45), "": (0, 0)}


def expand(weights: dict[Any, int]) -> list[Any]:
    """A list to ``choice`` from, each item repeated by its weight."""
    return [item for item, weight in weights.items() for _ in range(weight)]


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


@dataclass(frozen=True)
class Owner:
    pk: int
    team_id: int | None
    weight: float


@dataclass
class Batch:
    leads: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[int, int]] = field(default_factory=list)
    notes: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


class LeadFactory:
    """Builds rows from pools; deterministic for a given seed and database state."""

    def __init__(
        self,
        *,
        seed: int,
        salt: int,
        owners: list[Owner],
        team_ids: list[int],
        sources: dict[int, str],
        lost_reason_ids: list[int],
        tag_ids: list[int],
        lead_type_id: int,
        now: float,
        target: ResponseTarget | None = None,
    ) -> None:
        from faker import Faker

        fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
        fake.seed_instance(seed)
        us = Faker("en_US")
        us.seed_instance(seed)
        pool_rng = random.Random(seed)  # noqa: S311  (fake data, not security)

        def unique(make: Callable[[], str], size: int) -> list[str]:
            return sorted({make() for _ in range(size)})

        self.first_names = [(n, ascii_slug(n)) for n in unique(fake.first_name, POOL_SIZE)]
        self.last_names = [(n, ascii_slug(n)) for n in unique(fake.last_name, POOL_SIZE)]
        self.companies: list[tuple[str, str]] = []
        for company in unique(fake.company, POOL_SIZE):
            slug = ascii_slug(COMPANY_NOISE.sub("", company.lower()))[:24] or "company"
            self.companies.append((company, slug + pool_rng.choice(TLDS)))
        self.jobs = unique(us.job, 400)
        self.states = unique(
            lambda: us.state_abbr(
                include_territories=False, include_freely_associated_states=False
            ),
            300,
        )
        self.rng = random.Random(f"{seed}:{salt}")  # noqa: S311  (fake data, not security)
        rand = self.rng.random

        def pick(seq: Sequence[Any]) -> Any:
            """``rng.choice``, three times faster (this runs ~50 times per lead)."""
            return seq[int(rand() * len(seq))]

        self.pick = pick
        self.now = now
        self.start = now - SPAN_DAYS * DAY
        self.lead_type_id = lead_type_id
        self.target = target or ResponseTarget(
            first_contact_minutes=24 * 60, escalate_after_minutes=4 * 60
        )
        self.team_ids = team_ids
        self.lost_reason_ids = lost_reason_ids
        self.tag_ids = tag_ids
        self.labels = dict(LeadStatus.choices)
        self._changes: dict[tuple[str, str], str] = {}

        # Weighted choices become plain lists, so a draw is one random index.
        self.owners = expand({o: max(1, round(o.weight * 20)) for o in owners})
        self.status_by_age = [(days, expand(w)) for days, w in STATUS_WEIGHTS.items()]
        self.countries = expand(COUNTRIES)
        self.source_names = sources
        weighted = {pk: SOURCE_WEIGHTS.get(name.lower(), 5) for pk, name in sources.items()}
        self.sources: list[int | None] = expand(weighted) if weighted else []
        self.sources += [None] * max(1, len(self.sources) // 20)
        self.note_kinds = expand(NOTE_KINDS)

    # --- one lead -------------------------------------------------------------------------

    def target_time(self, start: float, minutes: int) -> float:
        """``start`` plus ``minutes`` on the response target's clock (as ``leads.sla``)."""
        if not self.target.business_hours_only:
            return start + minutes * 60
        return add_target_minutes(ts(start), minutes, self.target).timestamp()

    def response_target(
        self, status: str, created: float, first_contacted: float | None
    ) -> tuple[float, float | None, float | None]:
        """(contact by, alerted at, escalated at), as the SLA scan would have left them.

        Generated history is in the past: a lead not contacted by its deadline counts as
        alerted then (and escalated at its escalation time), and a lead still waiting past
        its deadline is stamped as already alerted and escalated, so the first scan after
        a load alerts nobody about leads that were never real."""
        due = self.target_time(created, self.target.first_contact_minutes)
        if due >= self.now or (first_contacted is not None and first_contacted <= due):
            return due, None, None
        escalate = self.target_time(due, self.target.escalate_after_minutes)
        waiting = status == "new" and first_contacted is None
        if waiting:
            return due, due, min(escalate, self.now)
        if escalate < self.now and (first_contacted is None or first_contacted > escalate):
            return due, due, escalate
        return due, due, None

    def after(self, start: float, max_days: float) -> float:
        """A moment after ``start``, at most ``max_days`` later and never in the future."""
        return start + self.rng.random() * min(max_days * DAY, self.now - start)

    def build(self, ids: Sequence[int], first_index: int, total: int) -> Batch:
        rng = self.rng
        pick = self.pick
        batch = Batch()
        for offset, lead_id in enumerate(ids):
            # Leads arrive in id order, with the business growing: more leads every month.
            position = (first_index + offset + rng.random()) / total
            created = min(self.start + math.sqrt(position) * SPAN_DAYS * DAY, self.now - 60)
            age_days = (self.now - created) / DAY
            statuses = next(s for days, s in self.status_by_age if age_days < days)
            status: str = pick(statuses)
            self.lead(batch, lead_id, status, created)
        return batch

    def lead(self, batch: Batch, lead_id: int, status: str, created: float) -> None:
        rng = self.rng
        pick = self.pick
        now = self.now

        owner: Owner | None = pick(self.owners) if self.owners else None
        if owner is not None and rng.random() < UNASSIGNED_SHARE.get(status, 0.0):
            owner = None
        if status == "qualified" and owner is None:  # only when nobody can own leads
            status = "contacted"
        owner_id = owner.pk if owner else None
        if owner is not None:
            team_id = owner.team_id
        else:
            team_id = pick(self.team_ids) if self.team_ids and rng.random() < 0.6 else None

        first, first_slug = pick(self.first_names)
        last, last_slug = pick(self.last_names)
        r = rng.random()
        if r < 0.03:
            first, first_slug = "", ""
        elif r < 0.05:
            last, last_slug = "", ""
        company, domain = pick(self.companies) if rng.random() < 0.88 else ("", "")
        country = pick(self.countries)

        email = phone = phone_normalized = ""
        reach = rng.random()
        if reach < 0.9:
            local = self.email_local(first_slug, last_slug)
            host = domain if domain and rng.random() < 0.8 else pick(FREEMAIL)
            email = f"{local}@{host}"
        if reach >= 0.7:
            phone, phone_normalized = self.phone(country)

        source_id = pick(self.sources) if self.sources else None
        source_name = self.source_names.get(source_id, "") if source_id else ""
        utm_source = utm_medium = utm_campaign = ""
        if source_name.lower() in {"campaign", "social"} or (
            source_name.lower() == "web form" and rng.random() < 0.4
        ):
            utm_source = pick(UTM["utm_source"])
            utm_medium = pick(UTM["utm_medium"])
            utm_campaign = pick(UTM["utm_campaign"])

        rate = pick(RATES)
        if status in {"lost", "junk", "unqualified", "canceled"} and rate == "hot":
            rate = "cold"
        low, high = RATE_SCORES[rate]
        score = rng.randint(low, high)
        estimated_value = (
            Decimal(max(500, round(rng.lognormvariate(8.9, 0.9), -2)))
            if rng.random() < 0.7
            else None
        )
        budget = (
            Decimal(round(float(estimated_value) * rng.uniform(0.6, 1.5), -2))
            if estimated_value is not None and rng.random() < 0.4
            else None
        )

        # The lead's life: first contact, qualification, conversion or closing.
        first_contacted = qualified = converted = closed = None
        if status in CONTACTED or (status == "canceled" and rng.random() < 0.5):
            first_contacted = self.after(created, 4)
        if status in {"qualified", "converted"}:
            qualified = self.after(first_contacted or created, 21)
        if status == "converted":
            converted = self.after(qualified or created, 30)
            closed = converted
        elif status in {"lost", "unqualified"}:
            closed = self.after(first_contacted or created, 60)
        elif status == "junk":
            closed = self.after(created, 5)
        elif status == "canceled":
            closed = self.after(first_contacted or created, 40)

        sla_due, sla_alerted, sla_escalated = self.response_target(status, created, first_contacted)

        lost_reason_id = None
        if self.lost_reason_ids and rng.random() < LOST_REASON_SHARE.get(status, 0.0):
            lost_reason_id = pick(self.lost_reason_ids)

        next_action = ""
        next_due: float | None = None
        if status in OPEN and rng.random() < (0.8 if owner is not None else 0.3):
            next_action = pick(NEXT_ACTIONS)
            if rng.random() < 0.3:
                next_due = now - rng.uniform(0.05, 30) * DAY  # overdue
            else:
                next_due = now + rng.uniform(0.05, 21) * DAY
            next_due = max(next_due, created + 60)

        consent = rng.random() < 0.35
        consent_source = pick(["Web form", "Event sign-up", "Phone"]) if consent else ""

        # History: the status changes that led here, and the timeline notes.
        changed_at = {
            "not_contacted": created + 60,
            "contacted": first_contacted,
            "qualified": qualified,
        }.get(status, closed)
        events = []
        actor = owner_id
        if status != "new":
            previous = pick(PREVIOUS[status])
            when = changed_at if changed_at is not None else self.after(created, 10)
            if previous != "new" and rng.random() < EARLIER_EVENT_SHARE:
                earlier = pick(PREVIOUS[previous])
                events.append((earlier, previous, created + (when - created) * rng.random()))
            events.append((previous, status, when))
        for version, (old, new, when) in enumerate(events, start=2):
            changes = self.changes(old, new)
            batch.events.append(
                (self.lead_type_id, lead_id, actor, "status", changes, version, "", ts(when))
            )

        updated = max([created, *(when for _, _, when in events)])
        note_count = pick(NOTE_COUNTS[status])
        if note_count:
            end = closed if closed is not None else now
            for note_at in sorted(
                created + rng.random() * (end - created) for _ in range(note_count)
            ):
                batch.notes.append(
                    self.note(lead_id, owner_id, first or last, company, source_name, note_at)
                )
                updated = max(updated, note_at)

        if self.tag_ids and rng.random() < 0.2:
            count = 1 if rng.random() < 0.7 or len(self.tag_ids) < 2 else 2
            for tag_id in rng.sample(self.tag_ids, count):
                batch.tags.append((lead_id, tag_id))

        created_by = None if source_name.lower() in {"web form", "import"} else owner_id
        batch.leads.append(
            (
                lead_id,
                first,
                last,
                company,
                pick(self.jobs) if rng.random() < 0.7 else "",
                email,
                phone,
                phone_normalized,
                f"https://www.{domain}" if domain and rng.random() < 0.5 else "",
                country,
                self.region(country),
                utm_source,
                utm_medium,
                utm_campaign,
                status,
                rate,
                score,
                budget,
                pick(["decision_maker", "influencer", "user", "", ""]),
                pick(NEEDS) if rng.random() < 0.3 else "",
                pick(["now", "quarter", "year", "later", "", "", ""]),
                estimated_value,
                next_action,
                ts(next_due) if next_due is not None else None,
                lost_reason_id,
                "",
                consent,
                ts(created) if consent else None,
                consent_source,
                ts(first_contacted) if first_contacted is not None else None,
                ts(first_contacted) - ts(created) if first_contacted is not None else None,
                ts(sla_due),
                ts(sla_alerted) if sla_alerted is not None else None,
                ts(sla_escalated) if sla_escalated is not None else None,
                ts(qualified) if qualified is not None else None,
                ts(converted) if converted is not None else None,
                ts(closed) if closed is not None else None,
                created_by,
                ts(created),
                ts(updated),
                ts(updated),
                1 + len(events),
                owner_id,
                team_id,
                source_id,
            )
        )

    def changes(self, old: str, new: str) -> str:
        """The audit event's JSON, as ``audit()`` writes it (there are few distinct ones)."""
        key = (old, new)
        if key not in self._changes:
            self._changes[key] = json.dumps({"status": [self.labels[old], self.labels[new]]})
        return self._changes[key]

    def email_local(self, first: str, last: str) -> str:
        rng = self.rng
        if not first or not last:
            return f"{first or last}{rng.randint(1, 999)}"
        pattern = rng.random()
        if pattern < 0.45:
            return f"{first}.{last}"
        if pattern < 0.65:
            return f"{first[0]}{last}"
        if pattern < 0.8:
            return first
        return f"{first}{last}{rng.randint(1, 99)}"

    def phone(self, country: str) -> tuple[str, str]:
        """A 555 number as someone typed it, and its E.164 form."""
        digits = f"{self.rng.randrange(10_000_000):07d}"
        normalized = f"+1555{digits}"
        a, b = digits[:3], digits[3:]
        if country in {"US", "CA", ""}:
            style = self.rng.randrange(5)
            typed = [
                f"(555) {a}-{b}",
                f"555-{a}-{b}",
                f"555.{a}.{b}",
                f"+1 555 {a} {b}",
                normalized,
            ][style]
        else:
            typed = f"+1 555 {a} {b}" if self.rng.random() < 0.5 else normalized
        return typed, normalized

    def region(self, country: str) -> str:
        pick = self.pick
        if country == "US":
            return pick(self.states)
        if country == "CA":
            return pick(CA_PROVINCES)
        return ""

    def note(
        self,
        lead_id: int,
        author_id: int | None,
        first: str,
        company: str,
        source: str,
        at: float,
    ) -> tuple[Any, ...]:
        rng = self.rng
        pick = self.pick
        kind = pick(self.note_kinds)
        body = pick(NOTE_TEMPLATES[kind]).format(
            first=first or "them",
            company=company or "their office",
            source=(source or "direct").lower(),
            p1=pick(PHRASES),
            p2=pick(PHRASES),
        )
        next_step = pick(NEXT_ACTIONS) if rng.random() < 0.3 else ""
        return (lead_id, kind, body, pick(OUTCOMES[kind]), next_step, author_id, ts(at))


# --- database side --------------------------------------------------------------------------


def ensure_reference_rows(log: Callable[[str], None]) -> None:
    """Sources, lost reasons and tags come from migration 0002; put them back if emptied."""
    defaults = import_module("leads.migrations.0002_default_choices")
    if not Source.objects.exists():
        for position, name in enumerate(defaults.SOURCES):
            Source.objects.get_or_create(name=name, defaults={"position": position})
        log("No lead sources: created the defaults.")
    if not LostReason.objects.exists():
        for position, name in enumerate(defaults.LOST_REASONS):
            LostReason.objects.get_or_create(name=name, defaults={"position": position})
        log("No lost reasons: created the defaults.")
    if not Tag.objects.exists():
        for name in defaults.TAGS:
            Tag.objects.create(name=name)
        log("No tags: created the defaults.")


def sellers() -> Any:
    return User.objects.filter(
        is_active=True, groups__name__in=[Role.REP.value, Role.MANAGER.value]
    ).distinct()


def ensure_owners(log: Callable[[str], None]) -> None:
    """With fewer than 10 people who can own leads, add a sales floor of ~20 (by email)."""
    if sellers().count() >= MIN_OWNERS:
        return
    created = 0
    for team_name, people in PERF_TEAMS.items():
        team, _ = Team.objects.get_or_create(name=team_name)
        for index, (first, last) in enumerate(people):
            email = f"{ascii_slug(first)}.{ascii_slug(last)}@perf.example.com"
            role = Role.MANAGER if index == 0 else Role.REP
            user = User.objects.filter(email=email).first()
            if user is None:
                user = services.user_create(
                    email=email,
                    first_name=first,
                    last_name=last,
                    role=role,
                    timezone_name=PERF_TIMEZONES[index % len(PERF_TIMEZONES)],
                    send_invitation=False,
                )
                created += 1
            membership_role = Membership.Role.MANAGER if index == 0 else Membership.Role.MEMBER
            services.team_add_member(team=team, user=user, role=membership_role)
    log(f"Fewer than {MIN_OWNERS} sales reps and managers: added {created} people in 3 teams.")


def load_owners(seed: int) -> list[Owner]:
    """Sales reps and managers, each with a team and a share of the leads (some sell more)."""
    rng = random.Random(seed)  # noqa: S311  (fake data, not security)
    owners = []
    users = sellers().order_by("pk").prefetch_related("groups")
    for user in users:
        team_id = (
            Membership.objects.filter(user=user)
            .order_by("team_id")
            .values_list("team_id", flat=True)
            .first()
        )
        manager = any(group.name == Role.MANAGER.value for group in user.groups.all())
        weight = rng.lognormvariate(0, 0.5) * (0.4 if manager else 1.0)
        owners.append(Owner(pk=user.pk, team_id=team_id, weight=weight))
    return owners


def reserve_ids(cursor: Any, count: int) -> list[int]:
    """Ids taken from the identity sequence now are ours alone, whoever else inserts."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('leads_lead', 'id')) FROM generate_series(1, %s)",
        [count],
    )
    return sorted(row[0] for row in cursor.fetchall())


T = TypeVar("T")


def built_ahead(submit: Callable[[int], Future[T]], batches: int) -> Iterator[T]:
    """Each batch's rows, built on another thread while the previous batch is copied."""
    pending = submit(0)
    for index in range(batches):
        built = pending.result()
        if index + 1 < batches:
            pending = submit(index + 1)
        yield built


def copy_rows(cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def secondary_indexes(cursor: Any) -> list[tuple[str, str]]:
    """leads_lead's non-unique indexes that back no constraint: (name, definition)."""
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(c.oid)
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indexrelid
        WHERE x.indrelid = 'leads_lead'::regclass
          AND NOT x.indisunique AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
        ORDER BY c.relname
        """
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def index_definition(cursor: Any, name: str) -> str | None:
    cursor.execute(
        "SELECT pg_get_indexdef(c.oid) FROM pg_class c "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
        [name],
    )
    row = cursor.fetchone()
    return row[0] if row else None


class IndexRebuild:
    """Drop leads_lead's secondary indexes, then build exactly the same ones again.

    ``pg_get_indexdef`` text does not always parse back to the same expression tree (an
    ``IN (...)`` predicate comes back with its casts moved), so an index the migrations made
    is re-created from the migrations' own model state, the way they made it; any other index
    from its saved definition. Every result is compared with the saved definition.
    """

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.saved = secondary_indexes(cursor)
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        model = loader.project_state().apps.get_model("leads", "Lead")
        self.model = model
        self.migration_indexes = {index.name: index for index in model._meta.indexes}

    def drop(self) -> None:
        for name, _ in self.saved:
            self.cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    def create(self) -> None:
        self.cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for name, definition in self.saved:
            index = self.migration_indexes.get(name)
            if index is not None:
                try:
                    with transaction.atomic(), connection.schema_editor(atomic=False) as editor:
                        editor.add_index(self.model, index)
                        if index_definition(self.cursor, name) != definition:
                            raise ValueError(name)  # rolls back to try the saved text
                    continue
                except ValueError:
                    pass
            self.cursor.execute(definition)
            if index_definition(self.cursor, name) != definition:
                raise CommandError(f"Index {name} could not be re-created as it was; rolled back.")


class Command(BaseCommand):
    help = "Generate realistic fake leads (with notes, history and tags) fast, with COPY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many leads.")
        parser.add_argument("--batch", type=int, default=50_000, help="Leads per COPY batch.")
        parser.add_argument(
            "--seed",
            type=int,
            default=42,
            help="Random seed; with the number of leads already there, fixes the output.",
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help=f"Never drop indexes (by default they are rebuilt above {DROP_INDEXES_ABOVE:,}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        batch_size: int = options["batch"]
        seed: int = options["seed"]
        if count < 1 or batch_size < 1:
            raise CommandError("--count and --batch must be positive.")
        if connection.vendor != "postgresql":
            raise CommandError("generate_leads needs PostgreSQL (it loads with COPY).")

        started = time.perf_counter()
        ensure_reference_rows(self.stdout.write)
        ensure_owners(self.stdout.write)
        owners = load_owners(seed)
        existing = Lead.objects.count()
        factory = LeadFactory(
            seed=seed,
            salt=existing,
            owners=owners,
            team_ids=sorted({o.team_id for o in owners if o.team_id is not None}),
            sources=dict(Source.objects.filter(is_active=True).values_list("pk", "name")),
            lost_reason_ids=list(
                LostReason.objects.filter(is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            ),
            tag_ids=list(Tag.objects.order_by("pk").values_list("pk", flat=True)),
            lead_type_id=ContentType.objects.get_for_model(Lead).pk,
            now=timezone.now().timestamp(),
            target=ResponseTarget.current(),
        )
        self.stdout.write(
            f"Generating {count:,} leads for {len(owners)} owners "
            f"({existing:,} leads already there), batches of {batch_size:,}…"
        )
        totals = {"leads": 0, "notes": 0, "events": 0, "tags": 0}
        rebuild = count > DROP_INDEXES_ABOVE and not options["keep_indexes"]

        with connection.cursor() as cursor:
            if rebuild:
                # One transaction: the indexes come back, or the load never happened.
                with transaction.atomic():
                    indexes = IndexRebuild(cursor)
                    indexes.drop()
                    self.stdout.write(
                        f"Dropped {len(indexes.saved)} secondary indexes of leads_lead "
                        "(the table is locked until the load commits)."
                    )
                    self.load(cursor, factory, count, batch_size, totals, started)
                    step = time.perf_counter()
                    indexes.create()
                    self.stdout.write(
                        f"Re-created {len(indexes.saved)} indexes "
                        f"in {time.perf_counter() - step:.1f} s; committing…"
                    )
            else:
                self.load(cursor, factory, count, batch_size, totals, started)

            # VACUUM also sets the visibility map and hint bits, as autovacuum would have by
            # the time anyone measures; it cannot run inside a transaction.
            step = time.perf_counter()
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            cursor.execute(f"{command} {', '.join(LOADED_TABLES)}")
            self.stdout.write(f"{command} in {time.perf_counter() - step:.1f} s.")

        elapsed = time.perf_counter() - started
        rows = sum(totals.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {totals['leads']:,} leads, {totals['notes']:,} notes, "
                f"{totals['events']:,} audit events, {totals['tags']:,} tags in {elapsed:.1f} s "
                f"({totals['leads'] / elapsed:,.0f} leads/s, {rows / elapsed:,.0f} rows/s)."
            )
        )

    def load(
        self,
        cursor: Any,
        factory: LeadFactory,
        count: int,
        batch_size: int,
        totals: dict[str, int],
        started: float,
    ) -> None:
        """COPY batch after batch, building the next one in a thread meanwhile.

        Building is Python and COPY mostly waits on the server, so the two overlap well. Ids
        are reserved here and batches are built in order by a single worker, so the output
        does not depend on timing.
        """
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper, for COPY
        sizes = [min(batch_size, count - start) for start in range(0, count, batch_size)]
        done = 0
        with ThreadPoolExecutor(max_workers=1) as builder:

            def submit(index: int) -> Future[Batch]:
                ids = reserve_ids(cursor, sizes[index])
                return builder.submit(factory.build, ids, index * batch_size, count)

            for size, batch in zip(sizes, built_ahead(submit, len(sizes)), strict=True):
                with transaction.atomic():
                    # Foreign keys are checked per COPY, not all at once at commit.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    copy_rows(raw, "leads_lead", LEAD_COLUMNS, batch.leads)
                    copy_rows(raw, "leads_lead_tags", TAG_COLUMNS, batch.tags)
                    copy_rows(raw, "leads_leadnote", NOTE_COLUMNS, batch.notes)
                    copy_rows(raw, "crm_auditevent", EVENT_COLUMNS, batch.events)
                done += size
                totals["leads"] += len(batch.leads)
                totals["tags"] += len(batch.tags)
                totals["notes"] += len(batch.notes)
                totals["events"] += len(batch.events)
                elapsed = time.perf_counter() - started
                self.stdout.write(
                    f"  {done:>10,} / {count:,} leads, {totals['notes']:,} notes, "
                    f"{totals['events']:,} events  {elapsed:7.1f} s  {done / elapsed:8,.0f} leads/s"
                )
