"""The import engine, and the batch's life: upload, dry run, run, cancel, undo.

A file is read as a stream (``parsing``) and handled ``IMPORT_BATCH_ROWS`` records at a
time. Each chunk of records is translated in Python (``mapping.translate``: bad rows are
refused with their number and reason), then sent with ``COPY`` into a staging table that
lives for one transaction, where SQL does the rest set-based: the duplicate check against
the database (same email; same normalised phone, through their indexes) and within the
file (window functions over the chunk, and the keys of earlier chunks in
``ImportSeenKey``), the lead numbers, then one ``INSERT … SELECT`` of the new leads with
their ``ImportedLead`` and creation ``AuditEvent`` rows. Updates of existing leads (when
asked for) go through Python, row-locked, with their history, as ``lead_update`` keeps it.

What creating a lead one by one (``lead_create_here``) does is done here per chunk with the
same results: a rep's leads are theirs; a lead without an owner goes through the
assignment rules (loaded once; round-robin turns and capacities counted as they are
given); its team is the rule's, else its owner's first team, else the importer's; a new
lead gets its response-time deadline (one per chunk: they all arrive at that moment).
The differences, on purpose: the new owners and the pool's managers get one notification
per chunk ("12 new leads for you from import IMP-4"), not one per lead; statuses are
taken as the file says without the status moves' stamps (``first_contacted_at`` stays
empty: the file does not say when), except ``closed_at``/``qualified_at``, set to the
import's time; updates never change a lead's status, owner or number.

Each chunk is its own transaction (a real run), so progress shows and a cancel, checked
between chunks, keeps what was done (undo removes it). A dry run does all of it but the
writes, inside one transaction that is rolled back: it writes nothing.
"""

from __future__ import annotations

import io
import multiprocessing
import uuid
import zoneinfo
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import Membership, Scope, User, access_scope
from crm.models import AuditEvent, Notification, audit
from crm.notifications import build_notification, notify_many
from leads.assignment.services import (
    NO_RULE,
    PERSON_FIELDS,
    ActiveRule,
    Routing,
    active_rules,
    first_matching,
    open_lead_counts,
)
from leads.imports import translating
from leads.imports.mapping import (
    FIELD_LABELS,
    Context,
    RowRejected,
    clean_mapping,
    guess_mapping,
    translate,
)
from leads.imports.models import (
    ImportBatch,
    ImportChunk,
    ImportedLead,
    ImportMapping,
    ImportRejection,
    OnDuplicate,
)
from leads.imports.parsing import ImportFileError, Table, kind_of, open_table
from leads.models import AssignmentRule, Lead, LostReason, ResponseTarget, Source
from leads.phones import normalize_phone
from leads.scoring.services import rescore, score_staged
from leads.services import can_assign, can_work_on, snapshot
from leads.sla.services import Recipients, add_target_minutes

CHUNK_BYTES = 1024 * 1024
SAMPLES_PER_OUTCOME = 5
MAX_WARNINGS = 1000
DEFAULT_SOURCE = "Import"

# Messages users see.
NUMBER_TAKEN = "Lead number {number} is already taken."
MATCH_NOT_YOURS = "It matches a lead you cannot change ({number}): skipped."
MATCH_CONVERTED = "It matches a converted lead ({number}), which stays as it is: skipped."
NOT_RUNNABLE = "This import cannot be started now: it is {status}."
NOT_CANCELABLE = "Only a running or waiting import can be canceled."
UNDO_NOT_FINISHED = "Only a finished or canceled import can be undone."
UNDO_TOUCHED = (
    "This import cannot be undone: {count} of its leads have been changed since "
    "(for example {numbers}). Undo works only while its leads are as the import left them."
)
UNDO_LINKED = (
    "This import cannot be undone: some of its leads now have records of their own "
    "(tasks, deals) that would be lost."
)
NO_NAME_COLUMN = "Map a column to the first name, the last name or the full name."
NO_CONTACT_COLUMN = "Map a column to the email or the phone."
FILE_TOO_LARGE = "The file is larger than {limit} MB."

# Lead fields an update may fill in or overwrite (status, owner and number have their own
# rules and services), keyed by the mapping's field name.
UPDATABLE = {
    "first_name": ["first_name"],
    "last_name": ["last_name"],
    "full_name": ["first_name", "last_name"],
    "company": ["company"],
    "job_title": ["job_title"],
    "email": ["email"],
    "phone": ["phone"],
    "website": ["website"],
    "country": ["country"],
    "region": ["region"],
    "source": ["source_id"],
    "rate": ["rate"],
    "next_action": ["next_action", "next_action_due"],
    "next_action_due": ["next_action", "next_action_due"],
    "estimated_value": ["estimated_value"],
    "budget": ["budget"],
    "authority": ["authority"],
    "need": ["need"],
    "timeline": ["timeline"],
    "description": ["description"],
    "utm_source": ["utm_source"],
    "utm_medium": ["utm_medium"],
    "utm_campaign": ["utm_campaign"],
    "marketing_consent": ["marketing_consent"],
    "consent_at": ["consent_at"],
}
# What a staged row carries into leads_lead (the number goes separately: empty means the
# database numbers it).
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
    "source_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "landing_page",
    "status",
    "rate",
    "score",
    "owner_id",
    "team_id",
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
    "consent_text",
    "sla_due_at",
    "qualified_at",
    "closed_at",
    "created_by_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "version",
]
STAGE_ONLY = ["row_no", "number", "typed", "note"]
# Filled in the staging table by the scoring statement, before the leads are inserted.
SCORE_COLUMNS = ["score_breakdown", "scored_at"]


# --- Options and the report -------------------------------------------------------------------


@dataclass
class ImportOptions:
    on_duplicate: str = OnDuplicate.SKIP
    default_region: str = ""
    default_status: str = Lead.Status.NEW
    default_source: str = DEFAULT_SOURCE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportOptions:
        options = cls()
        if data.get("on_duplicate") in OnDuplicate.values:
            options.on_duplicate = data["on_duplicate"]
        region = str(data.get("default_region") or "").strip().upper()
        options.default_region = region[:2] if region.isalpha() else ""
        if data.get("default_status") in Lead.Status.values and data["default_status"] != (
            Lead.Status.CONVERTED
        ):
            options.default_status = data["default_status"]
        if data.get("default_source"):
            options.default_source = str(data["default_source"])[:80]
        return options

    def as_dict(self) -> dict[str, str]:
        return {
            "on_duplicate": self.on_duplicate,
            "default_region": self.default_region,
            "default_status": self.default_status,
            "default_source": self.default_source,
        }


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    canceled: bool = False

    def as_json(self) -> dict[str, Any]:
        """What the command prints and the API of the report: exactly these keys."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.as_json(),
            "warnings": self.warnings,
            "samples": self.samples,
            "canceled": self.canceled,
        }

    def sample(self, outcome: str, row: int, values: dict[str, Any]) -> None:
        kept = self.samples.setdefault(outcome, [])
        if len(kept) < SAMPLES_PER_OUTCOME:
            name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
            kept.append(
                {
                    "row": row,
                    "name": name,
                    "company": values.get("company", ""),
                    "email": values.get("email", ""),
                }
            )

    def warn(self, row: int, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append({"row": row, "reason": message})


# --- Who may import, and as whom --------------------------------------------------------------


def import_context(*, actor: User, options: ImportOptions) -> Context:
    """Everything translating a row needs, loaded once."""
    sources = {s.name: s.pk for s in Source.objects.all()}
    keyed = {"".join(ch for ch in name.lower() if ch.isalnum()): pk for name, pk in sources.items()}
    default_source = keyed.get("".join(ch for ch in options.default_source.lower() if ch.isalnum()))
    reasons = {
        "".join(ch for ch in r.name.lower() if ch.isalnum()): r.pk for r in LostReason.objects.all()
    }
    own_only = access_scope(actor) == Scope.OWN
    if own_only or not can_assign(actor):
        assignable = {actor.email: actor.pk}
    else:
        assignable = dict(
            User.objects.visible_to(actor).filter(is_active=True).values_list("email", "pk")
        )
    known = set(User.objects.values_list("email", flat=True))
    try:
        tz = zoneinfo.ZoneInfo(actor.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    return Context(
        tz=tz,
        default_region=options.default_region or settings.PHONE_DEFAULT_REGION,
        default_status=options.default_status,
        sources=keyed,
        source_names={pk: name for name, pk in sources.items()},
        default_source_id=default_source,
        lost_reasons=reasons,
        assignable=assignable,
        known_users=known,
        own_only_owner=actor.pk if own_only or not can_assign(actor) else None,
    )


def check_mapping(mapping: dict[str, str]) -> list[str]:
    """What is missing for any row to be importable (empty: fine)."""
    fields = set(mapping.values())
    problems = []
    if not fields & {"first_name", "last_name", "full_name"}:
        problems.append(NO_NAME_COLUMN)
    if not fields & {"email", "phone"}:
        problems.append(NO_CONTACT_COLUMN)
    return problems


# --- Routing many leads at once ---------------------------------------------------------------


class BulkRouter:
    """``leads.assignment.route`` for a chunk of new leads: the rules are read once, each
    round-robin rule's row is locked (for the rest of the transaction) when it is first
    used, and turns and open-lead counts are kept as the leads are given out, so the
    outcome is what routing them one by one would have been."""

    def __init__(self) -> None:
        self.rules = active_rules()
        self.counts: dict[int, int] = {}
        self.members: dict[int, list[User]] = {}
        self.last: dict[int, int] = {}
        self.matched: dict[tuple[Any, ...], ActiveRule | None] = {}
        rules = [active.rule for active in self.rules]
        self.asks = {
            "country": any(rule.countries for rule in rules),
            "region": any(rule.region for rule in rules),
            "value": any(
                rule.min_value is not None or rule.max_value is not None for rule in rules
            ),
        }

    def _count(self, person: User) -> int:
        if person.pk not in self.counts:
            self.counts.update(open_lead_counts([person]) or {person.pk: 0})
            self.counts.setdefault(person.pk, 0)
        return self.counts[person.pk]

    def _has_room(self, person: User) -> bool:
        return person.lead_capacity is None or self._count(person) < person.lead_capacity

    def _team_members(self, rule: AssignmentRule) -> list[User]:
        if rule.pk not in self.members:
            locked = AssignmentRule.objects.select_for_update(of=("self",))
            row = locked.only("last_assigned_id").get(pk=rule.pk)
            self.last[rule.pk] = row.last_assigned_id or 0
            self.members[rule.pk] = list(
                User.objects.filter(
                    is_active=True,
                    memberships__team_id=rule.team_id,
                    memberships__role=Membership.Role.MEMBER,
                )
                .only(*PERSON_FIELDS)
                .order_by("pk")
            )
        return self.members[rule.pk]

    def route(self, values: dict[str, Any]) -> tuple[User | None, AssignmentRule | None, str]:
        """The owner for a new lead's translated values (the rule, and why)."""
        # Rules read only these four values, and a value only where a rule asks about it:
        # a file has few distinct combinations of those.
        key = (
            values.get("source_id"),
            values.get("country", "") if self.asks["country"] else "",
            values.get("region", "") if self.asks["region"] else "",
            values.get("estimated_value") if self.asks["value"] else None,
        )
        if key not in self.matched:
            probe = Lead(source_id=key[0], country=key[1], region=key[2], estimated_value=key[3])
            self.matched[key] = first_matching(self.rules, probe, set(), Routing())
        active = self.matched[key]
        if active is None:
            return None, None, NO_RULE
        rule = active.rule
        if rule.user_id is not None:
            person = rule.user
            assert person is not None  # noqa: S101  (the check constraint: a user or a team)
            if not person.is_active:
                return None, rule, f"Rule “{rule.name}”: {person} is inactive; left unassigned."
            if not self._has_room(person):
                return None, rule, f"Rule “{rule.name}”: {person} is at capacity; left unassigned."
            return person, rule, f"Rule “{rule.name}” → {person}"
        members = self._team_members(rule)
        team = rule.team
        if not members:
            return None, rule, f"Rule “{rule.name}”: {team} has no active members."
        after = self.last[rule.pk]
        turn = [m for m in members if m.pk > after] + [m for m in members if m.pk <= after]
        chosen = next((m for m in turn if self._has_room(m)), None)
        if chosen is None:
            return None, rule, f"Rule “{rule.name}”: everyone in {team} is at capacity."
        self.last[rule.pk] = chosen.pk
        return chosen, rule, f"Rule “{rule.name}” → round-robin {team} → {chosen}"

    def took(self, owner_id: int, status: str) -> None:
        if status in Lead.OPEN_STATUSES and owner_id in self.counts:
            self.counts[owner_id] += 1

    def save_turns(self) -> None:
        for rule_id, last in self.last.items():
            AssignmentRule.objects.filter(pk=rule_id).update(last_assigned_id=last or None)
        self.members.clear()
        self.last.clear()


# --- The engine -------------------------------------------------------------------------------


def _field(name: str) -> models.Field[Any, Any]:
    return cast("models.Field[Any, Any]", Lead._meta.get_field(name.removesuffix("_id")))


def _stage_ddl() -> str:
    columns = [
        "row_no integer PRIMARY KEY",
        "number varchar(20) NOT NULL",
        "typed boolean NOT NULL",
        "note text",
    ]
    for name in LEAD_COLUMNS:
        columns.append(f"{name} {_field(name).db_type(connection)}")
    # Ids are drawn as rows arrive (a duplicate leaves a gap, as a failed insert would).
    columns[4] += " DEFAULT nextval(pg_get_serial_sequence('leads_lead', 'id'))"
    columns += [f"{name} {_field(name).db_type(connection)}" for name in SCORE_COLUMNS]
    columns += ["match_id bigint", "action text NOT NULL DEFAULT 'create'"]
    return f"CREATE TEMP TABLE import_stage ({', '.join(columns)}) ON COMMIT DROP"


def _defaults() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in LEAD_COLUMNS:
        model_field = _field(name)
        if model_field.null or name == "id":
            values[name] = None
        elif model_field.has_default():
            values[name] = model_field.get_default()
        else:
            values[name] = ""
    return values


@dataclass
class Run:
    """One import's state while it reads the file."""

    actor: User
    options: ImportOptions
    mapping: dict[str, str]
    ctx: Context
    report: ImportReport
    batch: ImportBatch | None
    write: bool
    run_key: str
    columns: dict[str, int]
    mapped: set[str]
    memberships: dict[int, int]
    lead_type_id: int
    target: ResponseTarget
    updated_leads: set[int] = field(default_factory=set)
    chunk_no: int = 0
    seen_any: bool = False  # whether this run has remembered any key (_remember_keys)
    written: int = 0  # leads this run has inserted, for the planner check in _create


def _first_teams() -> dict[int, int]:
    teams: dict[int, int] = {}
    for user_id, team_id in Membership.objects.order_by("team_id").values_list(
        "user_id", "team_id"
    ):
        teams.setdefault(user_id, team_id)
    return teams


def _rejections(run: Run, rows: list[tuple[int, str, list[str]]]) -> None:
    for row, reason, _ in rows:
        run.report.rejected += 1
        run.report.errors.append({"row": row, "reason": reason})
    if run.batch is not None and run.write and rows:
        ImportRejection.objects.bulk_create(
            [
                ImportRejection(batch=run.batch, row=row, reason=reason, values=cells)
                for row, reason, cells in rows
            ],
            batch_size=2000,
        )


@dataclass
class Prepared:
    """A chunk of records translated (in Python, no database), ready to COPY."""

    rows: int
    translated: dict[int, dict[str, Any]]
    cells_of: dict[int, list[str]]
    refused: list[tuple[int, str, list[str]]]
    warnings: list[tuple[int, str]]
    copy_rows: list[list[Any]]
    at: datetime


@dataclass
class Spec:
    """What translating a chunk needs: picklable, for a translating process."""

    ctx: Context
    columns: dict[str, int]
    actor_id: int
    memberships: dict[int, int]
    target: ResponseTarget


def _prepare(spec: Spec, records: list[tuple[int, list[str]]]) -> Prepared:
    """Translate a chunk and build its staging rows. Touches no database (it runs on a
    thread, or in another process, beside the previous chunk's SQL)."""
    at = now()
    sla_due = add_target_minutes(at, spec.target.first_contact_minutes, spec.target)
    defaults = _defaults()
    defaults.pop("id")
    prepared = Prepared(len(records), {}, {}, [], [], [], at)
    actor_team = spec.memberships.get(spec.actor_id)
    lead_columns = LEAD_COLUMNS[1:]
    for row, cells in records:
        try:
            result = translate(cells, spec.columns, spec.ctx)
        except RowRejected as error:
            prepared.refused.append((row, str(error), cells))
            continue
        values = result.values
        prepared.warnings += [(row, warning) for warning in result.warnings]
        prepared.translated[row] = values
        prepared.cells_of[row] = cells
        status = values["status"]
        lead = {**defaults, **{k: v for k, v in values.items() if k in defaults}}
        lead["created_by_id"] = spec.actor_id
        lead["created_at"] = lead["updated_at"] = lead["last_activity_at"] = at
        lead["sla_due_at"] = sla_due if status == Lead.Status.NEW else None
        lead["qualified_at"] = at if status == Lead.Status.QUALIFIED else None
        lead["closed_at"] = None if status in Lead.OPEN_STATUSES else at
        owner_id = values.get("owner_id")
        lead["team_id"] = (spec.memberships.get(owner_id) if owner_id else None) or actor_team
        prepared.copy_rows.append(
            [row, values.get("number", ""), bool(values.get("number")), ""]
            + [lead[c] for c in lead_columns]
        )
    return prepared


def _chunk(run: Run, prepared: Prepared) -> None:
    """Stage, classify and write one translated chunk (inside a transaction)."""
    run.chunk_no += 1
    translated, cells_of, refused = prepared.translated, prepared.cells_of, prepared.refused
    for row, warning in prepared.warnings:
        run.report.warn(row, warning)
    run.report.rows += prepared.rows
    with connection.cursor() as cursor:
        # The per-row index lookups make the planner's estimates large enough to compile
        # the statements with JIT, which costs more than it saves on 5,000 rows.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_stage_ddl())
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        stage_columns = [*STAGE_ONLY, *LEAD_COLUMNS[1:]]
        with raw.copy(f"COPY import_stage ({', '.join(stage_columns)}) FROM STDIN") as copy:
            for copy_row in prepared.copy_rows:
                copy.write_row(copy_row)
        # A temporary table has no statistics until asked: the joins below need them.
        cursor.execute("ANALYZE import_stage")
        _classify(run, cursor)
        cursor.execute(
            "SELECT row_no, action, match_id, number FROM import_stage "
            "WHERE action <> 'create' ORDER BY row_no"
        )
        outcomes = cursor.fetchall()
        by_action: dict[str, list[int]] = defaultdict(list)
        for row, action, _, number in outcomes:
            if action == "reject":
                refused.append((row, NUMBER_TAKEN.format(number=number), cells_of[row]))
            else:
                by_action[action].append(row)
        updates = [(row, match_id) for row, action, match_id, _ in outcomes if action == "update"]
        updated_rows = _update(run, updates, translated) if updates else set()
        for row, _ in updates:
            if row not in updated_rows:
                by_action["duplicate"].append(row)
        not_created = {row for row, _, _, _ in outcomes}
        created_rows = [row for row in translated if row not in not_created]
        if run.write and created_rows:
            _create(run, cursor, translated)
        if run.options.on_duplicate != OnDuplicate.CREATE and _keys_in_leads(run):
            _remember_keys(run, cursor, "action <> 'create'")
        cursor.execute("DROP TABLE import_stage")
    refused.sort()
    _rejections(run, refused)
    for row in created_rows[:SAMPLES_PER_OUTCOME]:
        run.report.sample("created", row, translated[row])
    for row in by_action.get("duplicate", [])[:SAMPLES_PER_OUTCOME]:
        run.report.sample("duplicates", row, translated[row])
    for row in sorted(updated_rows)[:SAMPLES_PER_OUTCOME]:
        run.report.sample("updated", row, translated[row])
    for row, reason, _cells in refused[:SAMPLES_PER_OUTCOME]:
        if len(run.report.samples.setdefault("rejected", [])) < SAMPLES_PER_OUTCOME:
            run.report.samples["rejected"].append({"row": row, "reason": reason})
    run.report.created += len(created_rows)
    run.report.updated += len(updated_rows)
    run.report.duplicates += len(by_action.get("duplicate", []))


# Each staged row's database match and whether an earlier row of the file had its key
# (``{seen}``: the remembered keys of earlier chunks, if any are to be checked).
_CLASSIFY = """
WITH keyed AS (
    SELECT s.row_no,
        COALESCE(
            (SELECT min(l.id) FROM leads_lead l
             WHERE s.email <> '' AND l.email = s.email AND l.email <> ''),
            (SELECT min(l.id) FROM leads_lead l
             WHERE s.phone_normalized <> ''
               AND l.phone_normalized = s.phone_normalized
               AND l.phone_normalized <> '')) AS match_id,
        COALESCE(
            (CASE WHEN s.email <> '' THEN min(s.row_no) OVER (PARTITION BY s.email)
             END) < s.row_no
            OR (CASE WHEN s.phone_normalized <> ''
                THEN min(s.row_no) OVER (PARTITION BY s.phone_normalized)
                END) < s.row_no{seen},
            false) AS in_file
    FROM import_stage s)
UPDATE import_stage s SET match_id = k.match_id,
    action = CASE WHEN k.in_file THEN 'duplicate'
                  WHEN k.match_id IS NOT NULL THEN %(matched)s
                  ELSE 'create' END
FROM keyed k WHERE k.row_no = s.row_no
"""


def _classify(run: Run, cursor: Any) -> None:
    """Each staged row's fate: create, update (``match_id``), duplicate or reject. One
    statement: the database match (the email and phone indexes are partial, non-empty
    values: the literal conditions let the planner use them) and the match within the
    file (an earlier row of this chunk, or a key of an earlier chunk)."""
    mode = run.options.on_duplicate
    if mode != OnDuplicate.CREATE:
        if not _keys_in_leads(run):
            seen = """
                        OR (s.email <> '' AND EXISTS (SELECT 1 FROM imports_importseenkey k
                            WHERE k.run = %(run)s AND k.key = 'e:' || s.email))
                        OR (s.phone_normalized <> '' AND EXISTS (
                            SELECT 1 FROM imports_importseenkey k
                            WHERE k.run = %(run)s AND k.key = 'p:' || s.phone_normalized))"""
        elif run.seen_any:
            # The few keys of earlier rows that created nothing: one hash of them.
            seen = """
                        OR (s.email <> '' AND 'e:' || s.email IN (
                            SELECT k.key FROM imports_importseenkey k WHERE k.run = %(run)s))
                        OR (s.phone_normalized <> '' AND 'p:' || s.phone_normalized IN (
                            SELECT k.key FROM imports_importseenkey k WHERE k.run = %(run)s))"""
        else:
            seen = ""
        cursor.execute(
            _CLASSIFY.replace("{seen}", seen),
            {"run": run.run_key, "matched": "duplicate" if mode == OnDuplicate.SKIP else "update"},
        )
        if not _keys_in_leads(run):
            _remember_keys(run, cursor, "TRUE")
    if "number" in run.mapped:
        cursor.execute(
            """
            WITH firsts AS (
                SELECT row_no, min(row_no) OVER (PARTITION BY number) AS first
                FROM import_stage WHERE number <> '' AND action = 'create')
            UPDATE import_stage s SET action = 'reject' FROM firsts f
            WHERE f.row_no = s.row_no AND (
                f.first < s.row_no
                OR EXISTS (SELECT 1 FROM leads_lead l WHERE l.number = s.number)
                OR EXISTS (SELECT 1 FROM imports_importseenkey k
                           WHERE k.run = %(run)s AND k.key = 'n:' || s.number))
            """,
            {"run": run.run_key},
        )
        cursor.execute(
            "INSERT INTO imports_importseenkey (run, key) SELECT %(run)s, 'n:' || number "
            "FROM import_stage WHERE number <> '' AND action = 'create' ON CONFLICT DO NOTHING",
            {"run": run.run_key},
        )


def _keys_in_leads(run: Run) -> bool:
    """Whether a later row finds an earlier row's lead by the database match itself: in a
    real run that skips duplicates, the rows created before are leads by then, and a match
    is a duplicate either way. Only the keys of rows that created nothing (duplicates and
    refusals) need remembering then; a dry run, or one that updates matches (an earlier
    row's lead is not a lead to update), remembers every key."""
    return run.write and run.options.on_duplicate == OnDuplicate.SKIP


def _remember_keys(run: Run, cursor: Any, rows: str) -> None:
    """Keep the email and phone keys of these staged rows for the file's later chunks."""
    cursor.execute(
        f"""
        INSERT INTO imports_importseenkey (run, key)
        SELECT %(run)s, 'e:' || email FROM import_stage WHERE email <> '' AND {rows}
        UNION ALL SELECT %(run)s, 'p:' || phone_normalized FROM import_stage
        WHERE phone_normalized <> '' AND {rows}
        ON CONFLICT DO NOTHING
        """,  # noqa: S608  (a fixed condition, written here)
        {"run": run.run_key},
    )
    run.seen_any = run.seen_any or cursor.rowcount > 0


def _number_leads(cursor: Any) -> None:
    """The database's next lead numbers for the new leads typed in without one, set-based:
    what ``leads_next_lead_number()`` (the column's default) gives one by one, in the
    format of the lead settings, skipping numbers already taken."""
    cursor.execute("SELECT number_prefix, number_width FROM leads_leadsettings WHERE id = 1")
    found = cursor.fetchone()
    prefix, width = found if found else ("L-", 6)
    while True:
        cursor.execute(
            """
            WITH wanted AS (
                SELECT row_no, nextval('leads_lead_number_seq') AS n FROM (
                    SELECT row_no FROM import_stage WHERE action = 'create' AND number = ''
                    ORDER BY row_no) ordered)
            UPDATE import_stage s
            SET number = %(prefix)s || lpad(w.n::text, GREATEST(%(width)s, length(w.n::text)), '0')
            FROM wanted w WHERE w.row_no = s.row_no
            """,
            {"prefix": prefix, "width": width},
        )
        # A number taken already (typed in by hand, here or before): draw another.
        cursor.execute(
            """
            WITH taken AS (
                SELECT s.row_no FROM import_stage s
                WHERE s.action = 'create' AND NOT s.typed AND (
                    EXISTS (SELECT 1 FROM leads_lead l WHERE l.number = s.number)
                    OR s.number IN (SELECT t.number FROM import_stage t
                                    WHERE t.typed AND t.action = 'create')))
            UPDATE import_stage s SET number = '' FROM taken WHERE taken.row_no = s.row_no
            """
        )
        if not cursor.rowcount:
            return


def _route_staged(run: Run, cursor: Any, translated: dict[int, dict[str, Any]]) -> None:
    """Owners for the new leads nobody owns, by the assignment rules."""
    cursor.execute(
        "SELECT row_no FROM import_stage WHERE action = 'create' AND owner_id IS NULL "
        "ORDER BY row_no"
    )
    rows = [row for (row,) in cursor.fetchall()]
    if not rows:
        return
    router = BulkRouter()
    if not router.rules:
        return
    owners: list[int | None] = []
    teams: list[int | None] = []
    notes: list[str] = []
    for row in rows:
        values = translated[row]
        owner, rule, reason = router.route(values)
        team = None
        if owner is not None:
            router.took(owner.pk, values["status"])
            team = (rule.team_id if rule is not None else None) or run.memberships.get(owner.pk)
        owners.append(owner.pk if owner is not None else None)
        teams.append(team or run.memberships.get(run.actor.pk))
        notes.append(reason)
    router.save_turns()
    cursor.execute(
        """
        UPDATE import_stage s SET owner_id = v.owner_id, team_id = v.team_id, note = v.note
        FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::text[])
             AS v(row_no, owner_id, team_id, note)
        WHERE s.row_no = v.row_no
        """,
        [rows, owners, teams, notes],
    )


def _create(run: Run, cursor: Any, translated: dict[int, dict[str, Any]]) -> None:
    batch = run.batch
    assert batch is not None  # noqa: S101  (a writing run always has its batch)
    if run.ctx.own_only_owner is None:
        _route_staged(run, cursor, translated)
    _number_leads(cursor)
    # The new leads' scores, computed in the staging table: each lead is written once.
    score_staged(cursor, at=now())
    columns = ", ".join(LEAD_COLUMNS + SCORE_COLUMNS)
    cursor.execute(
        f"INSERT INTO leads_lead (number, {columns}) SELECT number, {columns} "  # noqa: S608
        "FROM import_stage WHERE action = 'create' ORDER BY row_no"
    )
    # A leads table autovacuum last saw empty (a new CRM, or one just cleared) is planned
    # as empty even as an import fills it: the probes of the next chunks then scan it once
    # per row (a first 20,000-row import took minutes, not
    # seconds). When the planner believes in fewer leads than this run has written, tell
    # it the truth; on a table of any size with its statistics right this never happens.
    run.written += cursor.rowcount
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'leads_lead'::regclass")
    (believed,) = cursor.fetchone()
    if believed < run.written:
        cursor.execute("ANALYZE leads_lead")
    cursor.execute(
        """
        INSERT INTO imports_importedlead (batch_id, lead_id, action, version, touched_at)
        SELECT %(batch)s, id, 'created', 1, last_activity_at
        FROM import_stage WHERE action = 'create'
        """,
        {"batch": batch.pk},
    )
    prefix = f"Imported from {batch.file_name[:80]} ({batch.reference}, row "
    cursor.execute(
        """
        INSERT INTO crm_auditevent
            (target_type_id, target_id, actor_id, action, changes, target_version, note,
             occurred_at)
        SELECT %(type)s, id, %(actor)s, 'created', '{}'::jsonb, 1,
               left(%(prefix)s || row_no || ')' ||
                    CASE WHEN coalesce(note, '') <> '' THEN ' ' || note
                         WHEN owner_id IS NULL AND %(routed)s THEN ' ' || %(no_rule)s
                         ELSE '' END, 255),
               created_at
        FROM import_stage WHERE action = 'create'
        """,
        {
            "type": run.lead_type_id,
            "actor": run.actor.pk,
            "prefix": prefix,
            "routed": run.ctx.own_only_owner is None,
            "no_rule": NO_RULE,
        },
    )
    cursor.execute(
        "SELECT owner_id, team_id, count(*) FROM import_stage WHERE action = 'create' "
        "GROUP BY owner_id, team_id"
    )
    _tell(run, cursor.fetchall())


def _tell(run: Run, groups: list[tuple[int | None, int | None, int]]) -> None:
    """One notification per new owner (and per pool) for the chunk, as ``lead_create``
    tells each new owner and the pool's managers, but summed up."""
    batch = run.batch
    assert batch is not None  # noqa: S101
    url = reverse("leads:list") + f"?import_batch={batch.pk}"
    owners: Counter[int] = Counter()
    pools: Counter[int | None] = Counter()
    for owner_id, team_id, count in groups:
        if owner_id is not None and owner_id != run.actor.pk:
            owners[owner_id] += count
        elif owner_id is None and run.ctx.own_only_owner is None:
            pools[team_id] += count
    built = []
    people = User.objects.in_bulk(list(owners))
    for owner_id, count in owners.items():
        built.append(
            build_notification(
                user=people[owner_id],
                kind=Notification.Kind.LEAD_RECEIVED,
                key=f"import:{batch.pk}:{run.chunk_no}:received:{owner_id}",
                title=f"{count} new lead{'s' if count != 1 else ''} for you from import "
                f"{batch.reference}",
                url=url,
            )
        )
    recipients = Recipients()
    for team_id, count in pools.items():
        for manager in recipients.managers(team_id):
            if manager.pk == run.actor.pk:
                continue
            built.append(
                build_notification(
                    user=manager,
                    kind=Notification.Kind.UNROUTED,
                    key=f"import:{batch.pk}:{run.chunk_no}:unrouted:{team_id}",
                    title=f"{count} imported lead{'s' if count != 1 else ''} in the pool "
                    f"({batch.reference})",
                    body=NO_RULE,
                    url=url,
                )
            )
    if built:
        notify_many(built)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _update(
    run: Run, updates: list[tuple[int, int]], translated: dict[int, dict[str, Any]]
) -> set[int]:
    """Update the matched leads the importer may change; returns the rows that changed
    a lead (the others are duplicates, left as they are)."""
    overwrite = run.options.on_duplicate == OnDuplicate.UPDATE
    fields: list[str] = []
    for name in sorted(run.mapped):
        fields += [f for f in UPDATABLE.get(name, []) if f not in fields]
    leads = Lead.objects.visible_to(run.actor).select_related("owner", "source")
    if run.write:
        leads = leads.select_for_update(of=("self",))
    found = leads.in_bulk([match for _, match in updates])
    changed_rows: set[int] = set()
    changed: list[Lead] = []
    events: list[AuditEvent] = []
    records: list[ImportedLead] = []
    stamp = now()
    for row, match_id in updates:
        lead = found.get(match_id)
        if lead is None or not can_work_on(run.actor, lead):
            number = lead.number if lead is not None else f"#{match_id}"
            run.report.warn(row, MATCH_NOT_YOURS.format(number=number))
            continue
        if lead.status == Lead.Status.CONVERTED:
            run.report.warn(row, MATCH_CONVERTED.format(number=lead.number))
            continue
        if lead.pk in run.updated_leads:
            continue
        values = translated[row]
        new: dict[str, Any] = {}
        pair = ("next_action", "next_action_due")
        for name in fields:
            if name not in values or name in pair:
                continue
            value, current = values[name], getattr(lead, name)
            if value in ("", None) or value == current:
                continue
            if name == "marketing_consent" and not value:
                continue
            if overwrite or current in ("", None, False):
                new[name] = value
        wanted = (values.get("next_action"), values.get("next_action_due"))
        if (
            wanted[0]
            and (overwrite or not lead.next_action)
            and wanted != (lead.next_action, lead.next_action_due)
        ):
            new["next_action"], new["next_action_due"] = wanted
        if not new:
            continue
        before_fields = [n.removesuffix("_id") for n in new]
        before = snapshot(lead, before_fields)
        previous = {name: _json_value(getattr(lead, name)) for name in new}
        for name, value in new.items():
            setattr(lead, name, value)
        touched = list(new)
        if "phone" in new or "country" in new:
            previous["phone_normalized"] = lead.phone_normalized
            lead.phone_normalized = normalize_phone(
                lead.phone, str(lead.country or "") or run.ctx.default_region
            )
            touched.append("phone_normalized")
        lead.version += 1
        lead.updated_at = lead.last_activity_at = stamp
        run.updated_leads.add(lead.pk)
        changed_rows.add(row)
        if not run.write:
            continue
        after = snapshot(lead, before_fields)
        changes = {
            str(FIELD_LABELS.get(n, n)): [before[n], after[n]]
            for n in before
            if before[n] != after[n]
        }
        changed.append(lead)
        records.append(
            ImportedLead(
                batch=run.batch,
                lead=lead,
                action=ImportedLead.Action.UPDATED,
                previous={**previous, "_touched": touched},
                version=lead.version,
                touched_at=stamp,
            )
        )
        events.append(
            AuditEvent(
                target_type_id=run.lead_type_id,
                target_id=lead.pk,
                actor=run.actor,
                action=AuditEvent.Action.UPDATED,
                changes=changes,
                target_version=lead.version,
                note=f"Import {run.batch.reference if run.batch else ''}, row {row}"[:255],
                occurred_at=stamp,
            )
        )
    if changed:
        all_fields = sorted({f for record in records for f in (record.previous or {})["_touched"]})
        Lead.objects.bulk_update(
            changed, [*all_fields, "version", "updated_at", "last_activity_at"], batch_size=1000
        )
        ImportedLead.objects.bulk_create(records)
        AuditEvent.objects.bulk_create(events)
        rescore([lead.pk for lead in changed])
    return changed_rows


def import_rows(
    *,
    table: Table,
    mapping: dict[str, str],
    actor: User,
    options: ImportOptions,
    dry_run: bool,
    batch: ImportBatch | None = None,
    on_chunk: Callable[[ImportReport, float], bool] | None = None,
    chunk_rows: int | None = None,
    processes: int | None = None,
) -> ImportReport:
    """Import a table's records (or, for a dry run, say what would happen). ``on_chunk``
    is called after each chunk with the report so far and the progress (0–1); it returns
    False to stop (a cancel)."""
    if not dry_run and batch is None:
        raise ValueError("A real import needs its batch (the leads are recorded in it).")
    mapping = clean_mapping(table.headers, mapping)
    columns: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        name = mapping.get(header, "")
        if name and name not in columns:
            columns[name] = index
    report = ImportReport()
    run = Run(
        actor=actor,
        options=options,
        mapping=mapping,
        ctx=import_context(actor=actor, options=options),
        report=report,
        batch=batch,
        write=not dry_run,
        run_key=uuid.uuid4().hex,
        columns=columns,
        mapped=set(columns),
        memberships=_first_teams(),
        lead_type_id=ContentType.objects.get_for_model(Lead).pk,
        target=ResponseTarget.current(),
    )
    size = chunk_rows or settings.IMPORT_BATCH_ROWS
    processes = settings.IMPORT_TRANSLATE_PROCESSES if processes is None else processes
    chunks = _chunks(table.records, size)
    spec = Spec(run.ctx, run.columns, actor.pk, run.memberships, run.target)
    # The next chunks are translated on a thread (or in processes) while this one's SQL runs
    # (the database call releases the GIL): the file is read here; they touch no database.
    with _translator(processes) as translator:
        queue: deque[Future[Prepared]] = deque()

        def ahead() -> Future[Prepared] | None:
            while len(queue) < max(processes, 1) + 1:
                records = next(chunks, None)
                if not records:
                    break
                queue.append(translator.submit(_prepare, spec, records))
            return queue.popleft() if queue else None

        pending: Future[Prepared] | None = None
        try:
            pending = ahead()
            if dry_run:
                with transaction.atomic():
                    while pending is not None:
                        prepared = pending.result()
                        pending = ahead()
                        _chunk(run, prepared)
                        if on_chunk is not None and not on_chunk(report, table.progress()):
                            report.canceled = True
                            break
                    transaction.set_rollback(True)
            else:
                while pending is not None:
                    prepared = pending.result()
                    pending = ahead()
                    with transaction.atomic():
                        _chunk(run, prepared)
                    if on_chunk is not None and not on_chunk(report, table.progress()):
                        report.canceled = True
                        break
        finally:
            for future in [pending, *queue]:
                if future is not None:
                    future.cancel()
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM imports_importseenkey WHERE run = %s", [run.run_key]
                    )
    return report


def _translator(processes: int) -> Executor:
    """Processes when asked for and allowed (a Celery prefork child is a daemon, which
    may not have children), else one thread."""
    if processes > 1 and not multiprocessing.current_process().daemon:
        return ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=translating.setup,
        )
    return ThreadPoolExecutor(max_workers=1)


def _chunks(
    records: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Batches: upload, dry run, run, cancel, undo ----------------------------------------------


class ChunkReader(io.RawIOBase):
    """A batch's stored file, read back chunk by chunk (one row in memory at a time)."""

    def __init__(self, batch_id: int) -> None:
        self.positions = iter(
            ImportChunk.objects.filter(batch_id=batch_id)
            .order_by("position")
            .values_list("pk", flat=True)
        )
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self.buffer:
            pk = next(self.positions, None)
            if pk is None:
                return 0
            self.buffer = bytes(ImportChunk.objects.values_list("data", flat=True).get(pk=pk))
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        return size


def batch_table(batch: ImportBatch) -> Table:
    stream = io.BufferedReader(ChunkReader(batch.pk), buffer_size=CHUNK_BYTES)
    return open_table(stream, name=batch.file_name, size=batch.file_size, kind=batch.kind)


@transaction.atomic
def import_batch_create(*, actor: User, upload: IO[bytes], name: str, size: int) -> ImportBatch:
    """Store an uploaded file and read its header; ImportFileError if it cannot be read."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ImportFileError(FILE_TOO_LARGE.format(limit=limit // (1024 * 1024)))
    batch = ImportBatch.objects.create(created_by=actor, file_name=name[:255], file_size=size)
    position = 0
    total = 0
    while block := upload.read(CHUNK_BYTES):
        total += len(block)
        if total > limit:
            raise ImportFileError(FILE_TOO_LARGE.format(limit=limit // (1024 * 1024)))
        ImportChunk.objects.create(batch=batch, position=position, data=block)
        position += 1
    if not total:
        raise ImportFileError("The file is empty.")
    batch.file_size = total
    first = ImportChunk.objects.filter(batch=batch, position=0).values_list("data", flat=True)
    batch.kind = kind_of(name, bytes(first[0])[:8])
    table = batch_table(batch)
    batch.headers = table.headers
    batch.mapping = guess_mapping(table.headers)
    batch.options = ImportOptions().as_dict()
    batch.save()
    return batch


@transaction.atomic
def import_batch_set_mapping(
    *, batch: ImportBatch, actor: User, mapping: dict[str, Any], options: ImportOptions
) -> ImportBatch:
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status not in (ImportBatch.Status.UPLOADED, ImportBatch.Status.CHECKED):
        raise ValidationError(NOT_RUNNABLE.format(status=locked.get_status_display().lower()))
    locked.mapping = clean_mapping(locked.headers, mapping)
    locked.options = options.as_dict()
    problems = check_mapping(locked.mapping)
    if problems:
        raise ValidationError(problems)
    locked.status = ImportBatch.Status.UPLOADED
    locked.dry_run_report = None
    locked.save(update_fields=["mapping", "options", "status", "dry_run_report"])
    return locked


def import_batch_dry_run(*, batch: ImportBatch, actor: User) -> ImportReport | None:
    """Say what the import would do, writing nothing but the report on the batch. A small
    file is checked at once (the report is returned); a larger one by a worker, with the
    same progress bar as the import (None is returned: the batch is now checking)."""
    from celery import current_app

    if batch.file_size > settings.IMPORT_INLINE_CHECK_BYTES:
        with transaction.atomic():
            taken = ImportBatch.objects.filter(
                pk=batch.pk, status=ImportBatch.Status.UPLOADED
            ).update(status=ImportBatch.Status.CHECKING, bytes_done=0, cancel_requested=False)
            if taken:
                transaction.on_commit(lambda: current_app.send_task(CHECK_TASK, args=[batch.pk]))
        return None
    report = import_rows(
        table=batch_table(batch),
        mapping=batch.mapping,
        actor=batch.created_by,
        options=ImportOptions.from_dict(batch.options),
        dry_run=True,
    )
    ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.UPLOADED).update(
        dry_run_report=report.as_dict(), status=ImportBatch.Status.CHECKED
    )
    return report


def import_batch_check(*, batch_id: int) -> ImportReport | None:
    """The worker's dry run of a checking batch (a canceled one goes back to its mapping)."""
    batch = ImportBatch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None or batch.status != ImportBatch.Status.CHECKING:
        return None
    try:
        report = import_rows(
            table=batch_table(batch),
            mapping=batch.mapping,
            actor=batch.created_by,
            options=ImportOptions.from_dict(batch.options),
            dry_run=True,
            on_chunk=lambda report, progress: _save_progress(
                batch_id, report, progress, batch.file_size, counts=False
            ),
        )
    except ImportFileError as error:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.UPLOADED, error=str(error)
        )
        return None
    if report.canceled:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.UPLOADED, cancel_requested=False, bytes_done=0
        )
        return report
    ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.CHECKING).update(
        dry_run_report=report.as_dict(), status=ImportBatch.Status.CHECKED, bytes_done=0
    )
    return report


CHECK_TASK = "leads.imports.tasks.import_check"
IMPORT_TASK = "leads.imports.tasks.import_batch"


@transaction.atomic
def import_batch_start(*, batch: ImportBatch, actor: User) -> ImportBatch:
    """Queue the import for a worker (on the ``imports`` queue), after the commit."""
    from celery import current_app

    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status not in (ImportBatch.Status.UPLOADED, ImportBatch.Status.CHECKED):
        raise ValidationError(NOT_RUNNABLE.format(status=locked.get_status_display().lower()))
    problems = check_mapping(locked.mapping)
    if problems:
        raise ValidationError(problems)
    locked.status = ImportBatch.Status.QUEUED
    locked.save(update_fields=["status"])
    transaction.on_commit(lambda: current_app.send_task(IMPORT_TASK, args=[locked.pk]))
    return locked


def _save_progress(
    batch_id: int, report: ImportReport, progress: float, size: int, *, counts: bool = True
) -> bool:
    """Show how far it is; False if someone asked to cancel."""
    ImportBatch.objects.filter(pk=batch_id).update(
        bytes_done=int(progress * size), **(_counts(report) if counts else {})
    )
    cancel = ImportBatch.objects.filter(pk=batch_id).values_list("cancel_requested", flat=True)
    return not cancel.first()


def _counts(report: ImportReport) -> dict[str, int]:
    return {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
    }


def import_batch_run(*, batch_id: int) -> ImportReport | None:
    """Run a queued import (the worker's task). Safe to run twice: only a queued batch
    is taken, so a redelivered message finds nothing to do."""
    with transaction.atomic():
        taken = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(
            status=ImportBatch.Status.RUNNING, started_at=now()
        )
    if not taken:
        return None
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        report = import_rows(
            table=batch_table(batch),
            mapping=batch.mapping,
            actor=batch.created_by,
            options=ImportOptions.from_dict(batch.options),
            dry_run=False,
            batch=batch,
            on_chunk=lambda report, progress: _save_progress(
                batch_id, report, progress, batch.file_size
            ),
        )
    except ImportFileError as error:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.FAILED, error=str(error), finished_at=now()
        )
        return None
    except Exception as error:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.FAILED,
            error=f"The import stopped on an unexpected error ({type(error).__name__}).",
            finished_at=now(),
        )
        raise
    status = ImportBatch.Status.CANCELED if report.canceled else ImportBatch.Status.DONE
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch_id).update(
            status=status,
            finished_at=now(),
            report={"warnings": report.warnings, "samples": report.samples},
            bytes_done=batch.file_size if not report.canceled else models.F("bytes_done"),
            **_counts(report),
        )
        batch.refresh_from_db()
        audit(
            target=batch,
            actor=batch.created_by,
            action=AuditEvent.Action.CREATED,
            note=(
                f"Imported {batch.file_name[:100]}: {report.created} created, "
                f"{report.updated} updated, {report.duplicates} duplicates, "
                f"{report.rejected} rejected" + (" (canceled)" if report.canceled else "")
            ),
        )
        # The uploaded file is not needed any more; the rejected rows are kept.
        ImportChunk.objects.filter(batch_id=batch_id).delete()
    return report


def import_batch_cancel(*, batch: ImportBatch, actor: User) -> ImportBatch:
    """Ask a running import to stop after its current chunk (a waiting one stops at once)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == ImportBatch.Status.QUEUED:
            locked.status = ImportBatch.Status.CANCELED
            locked.cancel_requested = True
            locked.finished_at = now()
            locked.save(update_fields=["status", "cancel_requested", "finished_at"])
            return locked
        if locked.status not in (ImportBatch.Status.RUNNING, ImportBatch.Status.CHECKING):
            raise ValidationError(NOT_CANCELABLE)
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
        return locked


def import_command(
    *,
    stream: IO[bytes],
    name: str,
    size: int,
    actor: User,
    options: ImportOptions,
    mapping: dict[str, str] | None,
    dry_run: bool,
    processes: int | None = None,
) -> tuple[ImportReport, ImportBatch | None]:
    """``manage.py import_leads``: the same engine on a local file, in this process."""
    table = open_table(stream, name=name, size=size)
    chosen = mapping if mapping is not None else {}
    if mapping is None:
        chosen = guess_mapping(table.headers)
    chosen = clean_mapping(table.headers, chosen)
    problems = check_mapping(chosen)
    if problems:
        raise ImportFileError(" ".join(problems))
    if dry_run:
        report = import_rows(
            table=table,
            mapping=chosen,
            actor=actor,
            options=options,
            dry_run=True,
            processes=processes,
        )
        return report, None
    batch = ImportBatch.objects.create(
        created_by=actor,
        file_name=name[:255],
        file_size=size,
        kind=table.kind,
        headers=table.headers,
        mapping=chosen,
        options=options.as_dict(),
        status=ImportBatch.Status.RUNNING,
        started_at=now(),
    )
    report = import_rows(
        table=table,
        mapping=chosen,
        actor=actor,
        options=options,
        dry_run=False,
        batch=batch,
        on_chunk=lambda report, progress: _save_progress(batch.pk, report, progress, size),
        processes=processes,
    )
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.CANCELED if report.canceled else ImportBatch.Status.DONE,
        finished_at=now(),
        bytes_done=size,
        report={"warnings": report.warnings, "samples": report.samples},
        **_counts(report),
    )
    batch.refresh_from_db()
    audit(
        target=batch,
        actor=actor,
        action=AuditEvent.Action.CREATED,
        note=f"Imported {name[:100]} from the command line: {report.created} created, "
        f"{report.updated} updated",
    )
    return report, batch


@transaction.atomic
def import_batch_undo(*, batch: ImportBatch, actor: User) -> ImportBatch:
    """Remove the leads the import created and put back what it updated, if none of
    them has been changed since (their version is still the import's)."""
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status not in (ImportBatch.Status.DONE, ImportBatch.Status.CANCELED):
        raise ValidationError(UNDO_NOT_FINISHED)
    records = ImportedLead.objects.filter(batch=locked)
    # Lock them all first: anything changing one of them now waits for this transaction.
    lead_ids = records.values("lead_id")
    list(Lead.objects.select_for_update().filter(pk__in=lead_ids).values_list("pk", flat=True))
    changed_since = records.exclude(
        lead__version=models.F("version"), lead__last_activity_at=models.F("touched_at")
    )
    touched = list(changed_since.order_by("lead_id").values_list("lead__number", flat=True)[:3])
    if touched:
        raise ValidationError(
            UNDO_TOUCHED.format(count=changed_since.count(), numbers=", ".join(touched))
        )
    stamp = now()
    for record in records.filter(action=ImportedLead.Action.UPDATED).select_related("lead"):
        lead = record.lead
        previous = dict(record.previous or {})
        touched_fields = previous.pop("_touched", list(previous))
        before = snapshot(lead, [n.removesuffix("_id") for n in touched_fields if n in previous])
        for name in touched_fields:
            if name not in previous:
                continue
            model_field = _field(name)
            value = previous[name]
            setattr(lead, name, model_field.to_python(value) if value is not None else None)
        lead.version += 1
        lead.updated_at = lead.last_activity_at = stamp
        lead.save(update_fields=[*touched_fields, "version", "updated_at", "last_activity_at"])
        after = snapshot(lead, list(before))
        audit(
            target=lead,
            actor=actor,
            action=AuditEvent.Action.UPDATED,
            changes={
                str(FIELD_LABELS.get(n, n)): (before[n], after[n])
                for n in before
                if before[n] != after[n]
            },
            note=f"Import {locked.reference} undone",
        )
        rescore([lead.pk])
    # Set-based (an import may have made a million leads); a lead something else now points
    # to (a note, a task, a deal) fails the foreign key check, checked here, not at commit.
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "DELETE FROM leads_lead_tags t USING imports_importedlead i "
                "WHERE i.batch_id = %s AND i.action = 'created' AND t.lead_id = i.lead_id",
                [locked.pk],
            )
            cursor.execute(
                """
                WITH gone AS (
                    DELETE FROM imports_importedlead
                    WHERE batch_id = %s AND action = 'created' RETURNING lead_id)
                DELETE FROM leads_lead l USING gone WHERE l.id = gone.lead_id
                """,
                [locked.pk],
            )
            removed = cursor.rowcount
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    except IntegrityError as error:
        raise ValidationError(UNDO_LINKED) from error
    locked.status = ImportBatch.Status.UNDONE
    locked.save(update_fields=["status"])
    audit(
        target=locked,
        actor=actor,
        action=AuditEvent.Action.UPDATED,
        note=f"Undone: {removed} created leads removed, its updates reverted.",
    )
    return locked


def import_mapping_save(*, actor: User, name: str, mapping: dict[str, str]) -> ImportMapping:
    """Keep a mapping under a name (the person's own; the same name replaces it)."""
    saved, _ = ImportMapping.objects.update_or_create(
        created_by=actor,
        name=" ".join(name.split())[:100],
        defaults={"mapping": {h: f for h, f in mapping.items() if f}},
    )
    return saved
