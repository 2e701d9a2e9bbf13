"""Realistic fake deals at volume, for performance work.

``manage.py generate_deals --count 200000`` loads 200,000 deals with ~67,000 companies,
~190,000 contacts and ~420,000 stage-history rows in well under a minute: rows are built in
Python from pre-generated pools and sent with PostgreSQL ``COPY``, like ``generate_leads``.

The deals spread over three years (more of them lately); recent ones are mostly open, old
ones won or lost. Owners and teams are the sales reps and managers already there (a sales
floor is added when there are fewer than 10, as ``generate_leads`` does). A company belongs
to the owner of its first deal and gets about three deals; almost every deal has a contact of
its own. ``source_lead`` stays empty: a deal made from a lead is the conversion's business.

Every row satisfies the models' check constraints. Ids are reserved from each table's
identity sequence before a batch is built, so deals point at their company and contact and
history rows at their deal without reading anything back.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from deals.demo import ensure_default_stages
from deals.models import Deal, Stage
from leads.management.commands.generate_leads import (
    DAY,
    NEXT_ACTIONS,
    POOL_SIZE,
    TLDS,
    Owner,
    ascii_slug,
    built_ahead,
    copy_rows,
    ensure_owners,
    ensure_reference_rows,
    expand,
    load_owners,
)
from leads.models import LostReason

SPAN_DAYS = 3 * 365
LOADED_TABLES = ["deals_company", "deals_contact", "deals_deal", "deals_dealstagechange"]
COMPANY_COLUMNS = [
    "id",
    "name",
    "domain",
    "website",
    "industry",
    "size",
    "owner_id",
    "team_id",
    "created_by_id",
    "created_at",
    "updated_at",
]
CONTACT_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_normalized",
    "job_title",
    "company_id",
    "owner_id",
    "team_id",
    "created_by_id",
    "created_at",
    "updated_at",
]
DEAL_COLUMNS = [
    "id",
    "title",
    "company_id",
    "contact_id",
    "value",
    "currency",
    "stage_id",
    "probability",
    "expected_close_date",
    "lost_reason_id",
    "next_action",
    "next_action_due",
    "closed_at",
    "stage_changed_at",
    "version",
    "owner_id",
    "team_id",
    "created_by_id",
    "created_at",
    "updated_at",
]
CHANGE_COLUMNS = [
    "deal_id",
    "from_stage_id",
    "to_stage_id",
    "actor_id",
    "changed_at",
    "from_stage_entered_at",
]

# Where a deal stands by its age: recent ones mostly open, old ones won or lost.
OUTCOME_WEIGHTS = {
    45: {"open0": 36, "open1": 24, "open2": 16, "won": 9, "lost": 15},
    180: {"open0": 10, "open1": 12, "open2": 11, "won": 27, "lost": 40},
    SPAN_DAYS + 1: {"open0": 1, "open1": 2, "open2": 2, "won": 38, "lost": 57},
}
# The stage keys a deal went through (each a history row: at most three), by outcome.
PATHS: dict[str, list[tuple[list[str], int]]] = {
    "open0": [(["open0"], 1)],
    "open1": [(["open0", "open1"], 4), (["open1"], 1)],
    "open2": [(["open0", "open1", "open2"], 4), (["open1", "open2"], 1)],
    "won": [(["open0", "open1", "won"], 1), (["open1", "open2", "won"], 3)],
    "lost": [
        (["open0", "lost"], 3),
        (["open0", "open1", "lost"], 4),
        (["open1", "open2", "lost"], 3),
    ],
}
NEW_COMPANY_SHARE = 0.33  # of deals start a company: ~1 company per 3 deals
NO_COMPANY_SHARE = 0.1
SHARED_CONTACT_SHARE = 0.05  # a repeat deal with a contact the company already has
CURRENCIES = {settings.DEFAULT_CURRENCY: 90, "EUR": 6, "GBP": 4}
INDUSTRIES = [
    "Software", "Manufacturing", "Logistics", "Healthcare", "Retail", "Construction",
    "Financial services", "Education", "Hospitality", "Real estate", "Energy", "Media",
    "Legal", "Consulting", "Food and beverage", "Automotive", "",
]  # fmt: skip
SIZES = ["1-10", "11-50", "11-50", "51-200", "51-200", "201-500", "501-1000", "1000+", ""]
COMPANY_SUFFIXES = ["Inc", "LLC", "Ltd", "Group", "GmbH", "Partners", "& Co", "Holdings", ""]
WHAT = [
    "{n} seats, annual plan",
    "Team plan",
    "Sales team rollout",
    "Onboarding and data migration",
    "Renewal",
    "Expansion, {n} more seats",
    "Premium tier upgrade",
    "Pilot",
    "Second office rollout",
    "Multi-year agreement",
]
DEAL_NEXT_ACTIONS = [*NEXT_ACTIONS, "Send the revised contract", "Follow up on the proposal"]


def ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def company_reserve(deals: int) -> int:
    """Company ids to reserve for a batch: the expected new companies, with a wide margin."""
    return math.ceil(deals * NEW_COMPANY_SHARE * 1.15) + 100


def reserve_ids(cursor: Any, table: str, count: int) -> list[int]:
    """Ids taken from the table's identity sequence now are ours alone, whoever else inserts."""
    if count == 0:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return sorted(row[0] for row in cursor.fetchall())


@dataclass
class Batch:
    companies: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    deals: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Account:
    """A company made earlier, and the contacts it has so far (for repeat deals)."""

    pk: int
    name: str
    domain: str
    contacts: list[int] = field(default_factory=list)


class DealFactory:
    """Builds rows from pools; deterministic for a given seed and database state."""

    def __init__(
        self,
        *,
        seed: int,
        salt: int,
        owners: list[Owner],
        stages: dict[str, int],
        lost_reason_ids: list[int],
        now: float,
    ) -> None:
        from faker import Faker

        fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
        fake.seed_instance(seed)
        us = Faker("en_US")
        us.seed_instance(seed)

        def unique(make: Callable[[], str], size: int) -> list[str]:
            return sorted({make() for _ in range(size)})

        self.first_names = [(n, ascii_slug(n)) for n in unique(fake.first_name, POOL_SIZE)]
        self.last_names = [(n, ascii_slug(n)) for n in unique(fake.last_name, POOL_SIZE)]
        self.jobs = unique(us.job, 400)
        self.rng = random.Random(f"{seed}:deals:{salt}")  # noqa: S311  (fake data)
        rand = self.rng.random

        def pick(seq: Sequence[Any]) -> Any:
            """``rng.choice``, faster (this runs dozens of times per deal)."""
            return seq[int(rand() * len(seq))]

        self.pick = pick
        self.now = now
        self.today = datetime.fromtimestamp(now, tz=UTC).date()
        self.start = now - SPAN_DAYS * DAY
        self.stages = stages
        self.lost_reason_ids = lost_reason_ids
        self.owners = expand({o: max(1, round(o.weight * 20)) for o in owners})
        self.outcomes_by_age = [(days, expand(w)) for days, w in OUTCOME_WEIGHTS.items()]
        self.path_lists = {
            outcome: [path for path, weight in paths for _ in range(weight)]
            for outcome, paths in PATHS.items()
        }
        self.currencies = expand(CURRENCIES)
        self.accounts: dict[int | None, list[Account]] = {}  # by owner id

    def after(self, start: float, max_days: float) -> float:
        """A moment after ``start``, at most ``max_days`` later and never in the future."""
        return start + self.rng.random() * min(max_days * DAY, self.now - start)

    def build(
        self, ids: dict[str, list[int]], first_index: int, total: int
    ) -> tuple[Batch, dict[str, int]]:
        """Rows for ``len(ids['deal'])`` deals; new companies and contacts take the reserved
        ids in order. Returns the rows and how many of each kind of id were used."""
        rng = self.rng
        batch = Batch()
        companies, contacts = iter(ids["company"]), iter(ids["contact"])
        used = {"company": 0, "contact": 0}
        for offset, deal_id in enumerate(ids["deal"]):
            position = (first_index + offset + rng.random()) / total
            created = min(self.start + math.sqrt(position) * SPAN_DAYS * DAY, self.now - 60)
            self.deal(batch, deal_id, created, companies, contacts, used)
        return batch, used

    def deal(
        self,
        batch: Batch,
        deal_id: int,
        created: float,
        companies: Any,
        contacts: Any,
        used: dict[str, int],
    ) -> None:
        rng, pick, now = self.rng, self.pick, self.now
        age_days = (now - created) / DAY
        weights = next(w for days, w in self.outcomes_by_age if age_days < days)
        outcome: str = pick(weights)
        owner: Owner | None = pick(self.owners) if self.owners else None
        owner_id = owner.pk if owner else None
        team_id = owner.team_id if owner else None
        created_at = ts(created)

        # The company: a new one, one of the owner's earlier ones, or none (a person).
        account: Account | None = None
        mine = self.accounts.setdefault(owner_id, [])
        draw = rng.random()
        if draw >= NO_COMPANY_SHARE:
            company_id = None
            if not mine or draw < NO_COMPANY_SHARE + NEW_COMPANY_SHARE:
                company_id = next(companies, None)  # None: the reserve ran out (never seen)
            if company_id is not None:
                account = self.company(batch, company_id, owner_id, team_id, created_at)
                used["company"] += 1
                mine.append(account)
            elif mine:  # repeat business, more often with the owner's recent companies
                account = mine[-1 - int(len(mine) * rng.random() ** 3)]

        # The contact: almost always a new person at that company.
        if account is not None and account.contacts and rng.random() < SHARED_CONTACT_SHARE:
            contact_id = pick(account.contacts)
            first = ""
        else:
            contact_id = next(contacts)
            used["contact"] += 1
            first = self.contact(batch, contact_id, account, owner_id, team_id, created_at)
            if account is not None:
                account.contacts.append(contact_id)

        # The stages it went through, each move a few days to weeks after the last one.
        path: list[str] = pick(self.path_lists[outcome])
        moments = [created]
        for _ in path[1:]:
            moments.append(self.after(moments[-1], 40))
        closed = outcome in ("won", "lost")
        last = moments[-1]
        previous: int | None = None
        entered: float | None = None
        for key, moment in zip(path, moments, strict=True):
            stage_id = self.stages[key]
            batch.changes.append(
                (
                    deal_id,
                    previous,
                    stage_id,
                    owner_id,
                    ts(moment),
                    None if entered is None else ts(entered),
                ),
            )
            previous, entered = stage_id, moment

        value = Decimal(max(500, round(rng.lognormvariate(9.4, 1.0), -2)))
        if closed:
            expected = date.fromordinal(
                datetime.fromtimestamp(last, tz=UTC).date().toordinal() + rng.randint(-20, 20)
            )
        else:
            expected = date.fromordinal(self.today.toordinal() + rng.randint(-15, 150))
        probability = rng.randint(1, 19) * 5 if not closed and rng.random() < 0.1 else None
        next_action, due = "", None
        if not closed and rng.random() < 0.85:
            next_action = pick(DEAL_NEXT_ACTIONS)
            due = now - rng.uniform(0.05, 20) * DAY if rng.random() < 0.3 else now + (
                rng.uniform(0.05, 21) * DAY
            )  # fmt: skip
            due = max(due, last + 60)
        lost_reason_id = (
            pick(self.lost_reason_ids) if outcome == "lost" and self.lost_reason_ids else None
        )
        what = pick(WHAT).format(n=pick([5, 10, 15, 20, 25, 40, 60]))
        who = account.name if account is not None else first or "New customer"
        batch.deals.append(
            (
                deal_id,
                f"{who}: {what}"[:200],
                account.pk if account is not None else None,
                contact_id,
                value,
                pick(self.currencies),
                self.stages[path[-1]],
                probability,
                expected,
                lost_reason_id,
                next_action,
                ts(due) if due is not None else None,
                ts(last) if closed else None,
                ts(last),
                len(path),
                owner_id,
                team_id,
                owner_id,
                created_at,
                ts(last),
            )
        )

    def company(
        self, batch: Batch, pk: int, owner_id: int | None, team_id: int | None, at: datetime
    ) -> Account:
        pick, rng = self.pick, self.rng
        a, a_slug = pick(self.last_names)
        form = rng.random()
        if form < 0.5:
            suffix = pick(COMPANY_SUFFIXES)
            name, slug = f"{a} {suffix}".strip(), a_slug
        elif form < 0.8:
            b, b_slug = pick(self.last_names)
            name, slug = f"{a}-{b}", f"{a_slug}{b_slug}"
        else:
            b, b_slug = pick(self.last_names)
            c, _ = pick(self.last_names)
            name, slug = f"{a}, {b} and {c}", f"{a_slug}{b_slug}"
        domain = f"{(slug or 'company')[:40]}{pick(TLDS)}"
        website = f"https://www.{domain}" if rng.random() < 0.6 else ""
        batch.companies.append(
            (pk, name, domain, website, pick(INDUSTRIES), pick(SIZES), owner_id, team_id,
             owner_id, at, at)
        )  # fmt: skip
        return Account(pk=pk, name=name, domain=domain)

    def contact(
        self,
        batch: Batch,
        pk: int,
        account: Account | None,
        owner_id: int | None,
        team_id: int | None,
        at: datetime,
    ) -> str:
        pick, rng = self.pick, self.rng
        first, first_slug = pick(self.first_names)
        last, last_slug = pick(self.last_names)
        if not first_slug or not last_slug:
            first_slug, last_slug = first_slug or "contact", last_slug or str(pk)
        email = ""
        if rng.random() < 0.92:
            host = account.domain if account is not None else pick(["gmail.com", "outlook.com"])
            email = f"{first_slug}.{last_slug}@{host}"
        phone = normalized = ""
        if rng.random() < 0.6:
            digits = f"{rng.randrange(10_000_000):07d}"
            normalized = f"+1555{digits}"
            phone = f"(555) {digits[:3]}-{digits[3:]}" if rng.random() < 0.6 else normalized
        batch.contacts.append(
            (pk, first, last, email, phone, normalized, pick(self.jobs) if rng.random() < 0.7
             else "", account.pk if account is not None else None, owner_id, team_id, owner_id,
             at, at)
        )  # fmt: skip
        return first


def stage_ids() -> dict[str, int]:
    """The first three active open stages, the won one and the lost one, by plan key."""
    ensure_default_stages()
    active = list(Stage.objects.filter(is_active=True))
    opened = [s.pk for s in active if s.kind == Stage.Kind.OPEN]
    won = [s.pk for s in active if s.kind == Stage.Kind.WON]
    lost = [s.pk for s in active if s.kind == Stage.Kind.LOST]
    if not opened or not won or not lost:
        raise CommandError("Deals need an active open, won and lost stage.")
    return {
        "open0": opened[0],
        "open1": opened[min(1, len(opened) - 1)],
        "open2": opened[min(2, len(opened) - 1)],
        "won": won[0],
        "lost": lost[0],
    }


class Command(BaseCommand):
    help = "Generate realistic fake deals (with companies, contacts and history) fast, with COPY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many deals.")
        parser.add_argument("--batch", type=int, default=50_000, help="Deals per COPY batch.")
        parser.add_argument(
            "--seed",
            type=int,
            default=42,
            help="Random seed; with the number of deals already there, fixes the output.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        batch_size: int = options["batch"]
        if count < 1 or batch_size < 1:
            raise CommandError("--count and --batch must be positive.")
        if connection.vendor != "postgresql":
            raise CommandError("generate_deals needs PostgreSQL (it loads with COPY).")

        started = time.perf_counter()
        ensure_reference_rows(self.stdout.write)
        ensure_owners(self.stdout.write)
        owners = load_owners(options["seed"])
        existing = Deal.objects.count()
        factory = DealFactory(
            seed=options["seed"],
            salt=existing,
            owners=owners,
            stages=stage_ids(),
            lost_reason_ids=list(
                LostReason.objects.filter(is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            ),
            now=timezone.now().timestamp(),
        )
        self.stdout.write(
            f"Generating {count:,} deals for {len(owners)} owners "
            f"({existing:,} deals already there), batches of {batch_size:,}…"
        )
        totals = {"deals": 0, "companies": 0, "contacts": 0, "changes": 0}
        with connection.cursor() as cursor:
            self.load(cursor, factory, count, batch_size, totals, started)
            step = time.perf_counter()
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            cursor.execute(f"{command} {', '.join(LOADED_TABLES)}")
            self.stdout.write(f"{command} in {time.perf_counter() - step:.1f} s.")
        elapsed = time.perf_counter() - started
        rows = sum(totals.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {totals['deals']:,} deals, {totals['companies']:,} companies, "
                f"{totals['contacts']:,} contacts, {totals['changes']:,} stage changes "
                f"in {elapsed:.1f} s ({totals['deals'] / elapsed:,.0f} deals/s, "
                f"{rows / elapsed:,.0f} rows/s)."
            )
        )

    def load(
        self,
        cursor: Any,
        factory: DealFactory,
        count: int,
        batch_size: int,
        totals: dict[str, int],
        started: float,
    ) -> None:
        """COPY batch after batch, building the next one in a thread meanwhile.

        Ids are reserved here, on this thread's connection, before a batch is built: one
        contact per deal and new companies for ~40% of them (plus a margin; the build uses
        fewer, and the gaps in the sequences are harmless).
        """
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper, for COPY
        sizes = [min(batch_size, count - start) for start in range(0, count, batch_size)]
        done = 0
        with ThreadPoolExecutor(max_workers=1) as builder:

            def submit(index: int) -> Future[tuple[Batch, dict[str, int]]]:
                size = sizes[index]
                ids = {
                    "deal": reserve_ids(cursor, "deals_deal", size),
                    "company": reserve_ids(cursor, "deals_company", company_reserve(size)),
                    "contact": reserve_ids(cursor, "deals_contact", size),
                }
                return builder.submit(factory.build, ids, index * batch_size, count)

            built = built_ahead(submit, len(sizes))
            for size, (batch, _) in zip(sizes, built, strict=True):
                with transaction.atomic():
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    copy_rows(raw, "deals_company", COMPANY_COLUMNS, batch.companies)
                    copy_rows(raw, "deals_contact", CONTACT_COLUMNS, batch.contacts)
                    copy_rows(raw, "deals_deal", DEAL_COLUMNS, batch.deals)
                    copy_rows(raw, "deals_dealstagechange", CHANGE_COLUMNS, batch.changes)
                done += size
                totals["deals"] += len(batch.deals)
                totals["companies"] += len(batch.companies)
                totals["contacts"] += len(batch.contacts)
                totals["changes"] += len(batch.changes)
                elapsed = time.perf_counter() - started
                self.stdout.write(
                    f"  {done:>10,} / {count:,} deals, {totals['companies']:,} companies, "
                    f"{totals['contacts']:,} contacts  {elapsed:7.1f} s  "
                    f"{done / elapsed:8,.0f} deals/s"
                )
