"""Demo deals for ``seed_demo``: ~210 deals, 40–45 in every stage, that look like the
pipeline the demo team has built over the last three months.

As with the demo leads (``leads.demo``), everything goes through the real services, called by
the people who would have done it: about 40% of the demo's qualified leads are converted by
their owners (``deals.services.lead_convert``); the other deals come from leads made for them,
which their owners create, get in touch with and qualify (``leads.services``) first. Deals
are then moved stage by stage (``deal_move_stage``, so each has its stage history), get notes
(``deal_add_note``) and, once won or lost, lose their next action. The manager reviews some
deals and reopens two lost ones. A share of the deals is repeat business: a later deal at a
company that already has one is linked to it (``company=`` the existing company).

The services stamp ``now()``; ``_backdate`` then moves every row they wrote to the moment the
call is meant to have happened (demo data only): won and lost deals closed over the last ~90
days, open deals moved recently, while expected close dates (the next four months for open
deals) and next-action due dates stay relative to today.

Seeded: what happens (which leads, people, companies, stages, paths, values, notes) comes
from ``random.Random(SEED)``, when from ``random.Random(SEED + 1)``, and no choice depends on
the clock: people are cast in the plan's own order, not in the order the clock puts the
conversions in (``DealMaker.plan`` is tested at many clocks). Every demo
email is made from ASCII slugs. Idempotent: skipped once any deal converted from a demo lead
exists. One transaction: all the deals or none.
"""

from __future__ import annotations

import random
import zoneinfo
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from importlib import import_module
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils.timezone import now

from accounts.models import User
from crm.models import AuditEvent
from deals import services
from deals.models import Company, Contact, Deal, DealNote, DealStageChange, Stage
from leads import services as lead_services
from leads.demo import (
    DEMO_EMAIL_TLD,
    QUALIFIED_QUIET_HOURS,
    Cast,
    Persona,
    PersonaMaker,
    email_local_part,
)
from leads.models import Lead, LeadNote, LostReason, Source

SEED = 2027
SPAN_DAYS = 89.5  # nothing older than this: the demo leads cover the last 90 days

# Where each owner's deals stand today: 40–45 deals in every stage. The keys are the open
# stages by position (Meeting set, Proposal sent, Negotiation), then won and lost.
MEETING, PROPOSAL, NEGOTIATION, WON, LOST = "open0", "open1", "open2", "won", "lost"
PLAN: dict[str, dict[str, int]] = {
    "rep1": {MEETING: 17, PROPOSAL: 17, NEGOTIATION: 16, WON: 18, LOST: 17},
    "rep2": {MEETING: 17, PROPOSAL: 17, NEGOTIATION: 16, WON: 18, LOST: 17},
    "manager": {MEETING: 8, PROPOSAL: 8, NEGOTIATION: 8, WON: 9, LOST: 9},
}
CONVERT_QUALIFIED_SHARE = 0.4  # of the demo's qualified leads, converted (into early stages)
REPEAT_SHARE = 0.3  # new deals at a company the owner already has a deal with
REOPENED = 2  # lost deals the manager reopened into negotiation

# Where the leads made for deals came from: inbound ones the manager typed in and handed out
# at once, outbound ones the rep found and typed in.
INBOUND = {"Web form": 50, "Email": 30, "Campaign": 20}
OUTBOUND = {"Referral": 50, "Cold call": 35, "Event": 15}
LOST_REASONS = {
    "Chose a competitor": 35,
    "No budget": 20,
    "Bad timing": 18,
    "No response": 15,
    "No decision maker": 12,
}
VALUES = [4_800, 6_000, 7_200, 9_600, 12_000, 14_400, 18_000, 24_000, 30_000, 36_000, 48_000]
BIG_VALUES = [60_000, 75_000, 90_000, 120_000]

WHAT = [
    "{n} seats, annual plan",
    "team plan for {n} users",
    "sales team rollout",
    "{n}-seat subscription and onboarding",
    "annual licence and data migration",
    "pilot for the {dept} team",
]
REPEAT_WHAT = [
    "expansion, {n} more seats",
    "second office rollout",
    "upgrade to the premium tier",
    "rollout to the {dept} team",
]
DEPARTMENTS = ["customer success", "field sales", "partner", "support", "account management"]
NEEDS = [
    "One pipeline for the whole sales team",
    "Forecast revenue without chasing reps for updates",
    "Replace spreadsheets for tracking deals",
    "See which campaigns bring paying customers",
    "Faster quotes for repeat customers",
]
LEAD_CONTACT_NOTES = [
    ("call", "Intro call with {first}: {company} wants {need_lower}."),
    ("call", "Spoke with {first} for half an hour; budget is there, decision this quarter."),
    ("meeting", "Short video call with {first} and their ops lead; good fit."),
    ("email", "{first} replied to the intro email and asked for a meeting with their team."),
]
# Next actions the deal carries from its lead (set when the lead is qualified), by stage.
NEXT_ACTIONS = {
    MEETING: ["Hold the discovery meeting", "Confirm who joins the meeting", "Send the agenda"],
    PROPOSAL: ["Follow up on the proposal", "Answer their pricing questions", "Call about it"],
    NEGOTIATION: ["Send the revised contract", "Reply on the discount", "Get the signature"],
    WON: ["Send the proposal", "Book the demo with their team"],
    LOST: ["Send the proposal", "Book the demo with their team"],
}
# (kind, text) notes logged before a deal leaves a stage, by the stage it leaves.
LEAVING_NOTES = {
    MEETING: [
        ("meeting", "Discovery meeting with {first} and two colleagues. They track {n} "
         "customers in spreadsheets; agreed to send a proposal."),
        ("meeting", "Demo for the {company} team went well: questions on permissions and "
         "the import. Proposal next."),
        ("call", "{first} confirmed the scope on the phone: {n} users to start with."),
    ],
    PROPOSAL: [
        ("email", "Sent the proposal: {value}, annual billing, onboarding included."),
        ("call", "{first} went through the proposal with finance; they want to talk terms."),
        ("meeting", "Walked their CFO through the proposal. Main question: the payment terms."),
    ],
    NEGOTIATION: [
        ("call", "{first} asked for 10% off for a two-year term; we can do 5%."),
        ("email", "Sent the revised contract with quarterly payments."),
        ("call", "Legal review done on their side, two small changes to the DPA."),
    ],
}  # fmt: skip
WON_NOTES = [
    ("email", "Signed contract back from {first}. Kickoff booked for next week."),
    ("note", "Closed! Handed over to onboarding with the notes from the discovery meeting."),
    ("call", "{first} called to confirm: they sign today. Invoice goes out on the 1st."),
]
LOST_NOTES = {
    "Chose a competitor": "{first} told us they went with a cheaper tool.",
    "No budget": "Budget was cut for this year; {first} will reach out next year.",
    "Bad timing": "They are in the middle of a reorganisation; revisit in Q3.",
    "No response": "No reply to three follow-ups since the proposal.",
    "No decision maker": "Our champion left {company}; nobody else owns the project.",
}
OPEN_NOTES = [
    ("call", "Checked in with {first}: still on track for {close}."),
    ("email", "Sent {first} two customer stories from their industry."),
    ("note", "{company} is hiring two more sales reps; the seat count may grow."),
]
COACHING_NOTES = [
    "Manager review: get the decision maker into the next meeting.",
    "Manager review: the close date looks optimistic; confirm it with {first}.",
    "Manager review: offer the annual discount only if they sign this month.",
]
REOPEN_NOTE = "{first} came back: the vendor they chose fell through. Reopening."

# Days between one step and the step before it (low, high), by the kind of step.
GAPS = {
    "create": (0.0, 0.0),
    "contact": (0.2, 4.0),
    "qualify": (1.0, 8.0),
    "convert": (0.05, 2.0),
    "note": (2.0, 10.0),
    "move": (0.02, 0.5),  # a move follows the note that explains it
    "jump": (3.0, 14.0),  # a move with no note before it
    "clear": (0.003, 0.02),
    "coach": (0.5, 3.0),
}
MOVES = ("move", "jump")


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ensure_default_stages() -> None:
    """The default pipeline comes with migration 0002; put it back if the table is empty
    (a test database flush removes data-migration rows)."""
    if Stage.objects.exists():
        return
    defaults = import_module("deals.migrations.0002_default_stages")
    for position, (name, probability, kind) in enumerate(defaults.STAGES):
        Stage.objects.get_or_create(
            name=name, defaults={"position": position, "probability": probability, "kind": kind}
        )


class Pipeline:
    """The stages by plan key: the first three open ones, the won one and the lost one."""

    def __init__(self) -> None:
        active = list(Stage.objects.filter(is_active=True))
        opened = [stage for stage in active if stage.kind == Stage.Kind.OPEN]
        won = next(stage for stage in active if stage.kind == Stage.Kind.WON)
        lost = next(stage for stage in active if stage.kind == Stage.Kind.LOST)
        self.stages = {
            MEETING: opened[0],
            PROPOSAL: opened[min(1, len(opened) - 1)],
            NEGOTIATION: opened[min(2, len(opened) - 1)],
            WON: won,
            LOST: lost,
        }

    def path(self, keys: list[str]) -> list[str]:
        """``keys`` without repeats, for a pipeline with fewer than three open stages."""
        path: list[str] = []
        for key in keys:
            if not path or self.stages[key] != self.stages[path[-1]]:
                path.append(key)
        return path


# --- Time ----------------------------------------------------------------------------------


class Clock:
    """DEMO DATA ONLY: when each service call ran, and when it should appear to have run.

    The calls run one after the other, so every row a call writes is stamped at or after its
    start and before the next call's: a stamp belongs to the last call that started before it,
    and ``moved`` gives that call's intended moment.
    """

    def __init__(self) -> None:
        self.started: list[datetime] = []
        self.moments: list[datetime] = []

    def run(self, moment: datetime, call: Callable[[], Any]) -> Any:
        self.started.append(now())
        self.moments.append(moment)
        return call()

    def moved(self, value: datetime | None) -> datetime | None:
        if value is None or not self.started:
            return value
        index = bisect_right(self.started, value) - 1
        return value if index < 0 else self.moments[index]


def _backdate(clock: Clock, made: dict[type[models.Model], set[int]]) -> None:
    """DEMO DATA ONLY: move what the services just wrote back to when it is meant to have
    happened.

    The one place that rewrites demo rows behind the services' back: the timestamp columns of
    the leads, deals, contacts and companies in ``made``, of their notes, stage history and
    audit events, one UPDATE per table. Stamps from before this run (a converted demo lead's
    own past) stay as they are: ``Clock.moved`` only moves what was written during it.
    """
    stamps: dict[type[models.Model], list[str]] = {
        Lead: ["created_at", "updated_at", "first_contacted_at", "qualified_at", "converted_at",
               "closed_at"],
        Deal: ["created_at", "updated_at", "stage_changed_at", "closed_at"],
        Contact: ["created_at", "updated_at"],
        Company: ["created_at", "updated_at"],
    }  # fmt: skip
    since = clock.started[0]
    quote = connection.ops.quote_name

    def restamp(queryset: Any, fields: list[str]) -> None:
        # UPDATE … FROM unnest(ids, new values…): bulk_update's CASE per row took seconds.
        rows = list(queryset.values_list("pk", *fields))
        if not rows:
            return
        meta = queryset.model._meta
        columns = [quote(meta.get_field(name).column) for name in fields]
        arrays = ", ".join(["%s::bigint[]"] + ["%s::timestamptz[]"] * len(columns))
        sql = (
            f"UPDATE {quote(meta.db_table)} AS t "  # noqa: S608  (names from the models)
            f"SET {', '.join(f'{column} = v.{column}' for column in columns)} "
            f"FROM unnest({arrays}) AS v(id, {', '.join(columns)}) WHERE t.id = v.id"
        )
        params = [[row[0] for row in rows]]
        params += [[clock.moved(row[i]) for row in rows] for i in range(1, len(fields) + 1)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    for model, fields in stamps.items():
        ids = made.get(model, set())
        restamp(model._default_manager.filter(pk__in=ids), fields)
        restamp(
            AuditEvent.objects.filter(
                target_type=ContentType.objects.get_for_model(model),
                target_id__in=ids,
                occurred_at__gte=since,
            ),
            ["occurred_at"],
        )
    leads, deals = made.get(Lead, set()), made.get(Deal, set())
    restamp(LeadNote.objects.filter(lead_id__in=leads, created_at__gte=since), ["created_at"])
    restamp(DealNote.objects.filter(deal_id__in=deals), ["created_at"])
    restamp(
        DealStageChange.objects.filter(deal_id__in=deals), ["changed_at", "from_stage_entered_at"]
    )


def _at_work(
    moment: datetime, tz: zoneinfo.ZoneInfo, rng: random.Random, low: datetime, high: datetime
) -> datetime:
    """The moment if it falls in working hours (8:00–18:00 local), else a time between 9:00
    and 17:00 on the same local day if that lies within (low, high)."""
    local = moment.astimezone(tz)
    if 8 <= local.hour < 18:
        return moment
    at = time(rng.randint(9, 16), rng.randrange(60))
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    return candidate if low < candidate < high else moment


def _local_due(owner: User, day_offset: int, rng: random.Random, current: datetime) -> datetime:
    """A working-hours time ``day_offset`` days from today, in the owner's timezone."""
    tz = zoneinfo.ZoneInfo(owner.timezone or "UTC")
    day = current.astimezone(tz).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 30))), tzinfo=tz)


# --- Deals ---------------------------------------------------------------------------------


@dataclass
class Account:
    """A company that can get more deals: its name, email domain and, once made, the row."""

    name: str
    email_domain: str
    owner: str
    country: str
    region: str
    deals: int = 1
    company: Company | None = None


@dataclass
class Record:
    """What a deal's steps have made so far."""

    lead: Lead | None = None
    deal: Deal | None = None

    @property
    def the_lead(self) -> Lead:
        if self.lead is None:
            raise RuntimeError("no lead yet: create it first")
        return self.lead

    @property
    def the_deal(self) -> Deal:
        if self.deal is None:
            raise RuntimeError("no deal yet: convert the lead first")
        return self.deal


# One step of a deal's story: the kind of step (for its timing), who does it and the call.
Step = tuple[str, Callable[[Record], Any]]


@dataclass
class DealSpec:
    owner: str
    outcome: str  # a PLAN key: where the deal stands today
    path: list[str]  # stage keys from the conversion on; a reopened deal passes Lost
    lead: Lead | None = None  # an existing qualified demo lead; None: a lead is made for it
    after: datetime | None = None  # that lead's last activity
    steps: list[Step] = field(default_factory=list)
    moments: list[datetime] = field(default_factory=list)  # when each step happened
    due: datetime | None = None  # open deals: the next action's due date
    close: datetime | None = None  # won and lost: when it closed
    value: Decimal = Decimal(0)
    close_date: date | None = None
    # Who it is with, given once the deals are in the order they were converted.
    persona: Persona | None = None
    account: Account | None = None
    words: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    lead_data: dict[str, Any] = field(default_factory=dict)

    @property
    def converted_at(self) -> datetime:
        kinds = [kind for kind, _ in self.steps]
        return self.moments[kinds.index("convert")]


class DealMaker:
    def __init__(
        self,
        cast: Cast,
        rng: random.Random,
        clock_rng: random.Random,
        current: datetime | None = None,
    ) -> None:
        self.cast = cast
        self.rng = rng  # what: the same at any clock
        self.when = clock_rng  # when: how many draws depend on the time of day
        self.current = current or now()
        self.pipeline = Pipeline()
        self.sources = {s.name: s for s in Source.objects.filter(is_active=True)}
        reasons = {r.name: r for r in LostReason.objects.filter(is_active=True)}
        if not reasons:
            reasons = {
                name: LostReason.objects.get_or_create(name=name)[0] for name in LOST_REASONS
            }
        self.reasons = reasons
        self.company_names: set[str] = set()  # a new company is none of these
        self.personas = self._persona_maker()
        self.accounts: list[Account] = []
        self.made: dict[type[models.Model], set[int]] = {
            Lead: set(),
            Deal: set(),
            Contact: set(),
            Company: set(),
        }
        self.leads_made = 0

    def _persona_maker(self) -> PersonaMaker:
        """Demo people, none sharing an email, phone or (last name, company) with a lead."""
        maker = PersonaMaker(self.rng)
        for email, phone, last, company in Lead.objects.values_list(
            "email", "phone", "last_name", "company"
        ):
            maker.emails.add(email)
            maker.phones.add("".join(ch for ch in phone if ch.isdigit()))
            maker.names.add((last.lower(), company.lower()))
            self.company_names.add(company.lower())
        return maker

    @staticmethod
    def _user_of(lead: Lead) -> User:
        if lead.owner is None:  # pragma: no cover  (a qualified lead has an owner)
            raise ValueError(lead)
        return lead.owner

    def _user(self, key: str) -> User:
        user = self.cast.owner(key)
        if user is None:  # pragma: no cover  (the plan has no pool deals)
            raise ValueError(key)
        return user

    # --- plan -------------------------------------------------------------------------------

    def specs(self) -> list[DealSpec]:
        rng = self.rng
        slots = {owner: dict(mix) for owner, mix in PLAN.items()}
        specs: list[DealSpec] = []
        # A share of the demo's qualified leads, converted lately: into the first two stages.
        owners = {self._user(key): key for key in PLAN}
        qualified = list(
            Lead.objects.filter(
                status=Lead.Status.QUALIFIED,
                email__endswith=DEMO_EMAIL_TLD,
                owner__in=list(owners),
            ).order_by("pk")
        )
        last = self._last_activity([lead.pk for lead in qualified])
        # Not one its owner is working on now. leads.demo leaves every qualified lead quiet
        # this long, so this keeps them all: the choice below must not follow the clock.
        settled = self.current - timedelta(hours=QUALIFIED_QUIET_HOURS)
        qualified = [lead for lead in qualified if last[lead.pk] < settled]
        chosen = rng.sample(qualified, round(len(qualified) * CONVERT_QUALIFIED_SHARE))
        for lead in sorted(chosen, key=lambda lead: lead.pk):
            owner = owners[self._user_of(lead)]
            outcome = MEETING if rng.random() < 0.6 else PROPOSAL
            if slots[owner][outcome] == 0:
                outcome = PROPOSAL if outcome == MEETING else MEETING
            if slots[owner][outcome] == 0:
                continue
            slots[owner][outcome] -= 1
            path = [MEETING] if outcome == MEETING else [MEETING, PROPOSAL]
            specs.append(DealSpec(owner, outcome, path, lead=lead, after=last[lead.pk]))
        # The rest: new leads, worked all the way.
        for owner, mix in slots.items():
            for outcome, count in mix.items():
                specs.extend(DealSpec(owner, outcome, self._path(outcome)) for _ in range(count))
        for spec in [s for s in specs if s.outcome == NEGOTIATION and s.lead is None][:REOPENED]:
            spec.path = [MEETING, PROPOSAL, LOST, NEGOTIATION]
        for spec in specs:
            spec.path = self.pipeline.path(spec.path)
        return specs

    def _path(self, outcome: str) -> list[str]:
        rng = self.rng
        if outcome == MEETING:
            return [MEETING]
        if outcome == PROPOSAL:
            return [PROPOSAL] if rng.random() < 0.15 else [MEETING, PROPOSAL]
        if outcome == NEGOTIATION:
            if rng.random() < 0.08:  # the proposal was reworked once
                return [MEETING, PROPOSAL, NEGOTIATION, PROPOSAL, NEGOTIATION]
            return [MEETING, PROPOSAL, NEGOTIATION]
        if outcome == WON:
            if rng.random() < 0.25:
                return [MEETING, PROPOSAL, WON]
            return [MEETING, PROPOSAL, NEGOTIATION, WON]
        reached = rng.choices(
            [[MEETING], [MEETING, PROPOSAL], [MEETING, PROPOSAL, NEGOTIATION]],
            weights=[30, 40, 30],
        )[0]
        return [*reached, LOST]

    def _last_activity(self, ids: list[int]) -> dict[int, datetime]:
        """When each lead was last worked on: its latest note, change or update."""
        latest = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
        notes = (
            LeadNote.objects.filter(lead_id__in=ids)
            .values("lead_id")
            .annotate(at=models.Max("created_at"))
        )
        events = (
            AuditEvent.objects.filter(
                target_type=ContentType.objects.get_for_model(Lead), target_id__in=ids
            )
            .values("target_id")
            .annotate(at=models.Max("occurred_at"))
        )
        for row in notes:
            latest[row["lead_id"]] = max(latest[row["lead_id"]], row["at"])
        for row in events:
            latest[row["target_id"]] = max(latest[row["target_id"]], row["at"])
        return latest

    # --- the story: which service calls, by whom --------------------------------------------

    def story(self, spec: DealSpec) -> None:
        """The service calls that make the deal, in order (``spec.steps``). What they say
        (names, title, note texts) is read from the spec when they run."""
        rng = self.rng
        owner = self._user(spec.owner)
        manager = self.cast.manager
        pipeline = self.pipeline.stages
        if spec.outcome in (WON, LOST):
            spec.close = self.current - timedelta(days=self.when.uniform(1.5, SPAN_DAYS - 3))
        else:
            bucket = _weighted(rng, {"overdue": 25, "today": 20, "upcoming": 55})
            offset = {"overdue": -rng.randint(1, 10), "today": 0, "upcoming": rng.randint(1, 14)}
            spec.due = _local_due(owner, offset[bucket], self.when, self.current)
        spec.value = self._value(spec)
        spec.close_date = self._close_date(spec)

        steps: list[Step] = []
        if spec.lead is None:
            steps.extend(self._lead_steps(spec))

        def convert(record: Record) -> Any:
            account = spec.account
            record.deal = services.lead_convert(
                lead=record.the_lead,
                actor=owner,
                title=spec.title,
                value=spec.value,
                stage=pipeline[spec.path[0]],
                expected_close_date=spec.close_date,
                company=account.company if account is not None else None,
            )
            if account is not None and account.company is None:
                account.company = record.deal.company
            return record.deal

        steps.append(("convert", convert))
        previous = spec.path[0]
        for key in spec.path[1:]:
            reopening = previous == LOST
            reason: LostReason | None = None
            if reopening:
                steps.append(("note", self._note(spec, manager, "note", REOPEN_NOTE)))
            elif key == LOST:
                reason_name = _weighted(rng, LOST_REASONS)
                reason = self.reasons.get(reason_name) or next(iter(self.reasons.values()))
                steps.append(("note", self._note(spec, owner, "call", LOST_NOTES[reason_name])))
            elif previous in LEAVING_NOTES and key != WON and rng.random() < 0.7:
                kind, text = rng.choice(LEAVING_NOTES[previous])
                steps.append(("note", self._note(spec, owner, kind, text)))
            if key == WON:
                kind, text = rng.choice(WON_NOTES)
                steps.append(("note", self._note(spec, owner, kind, text)))
            gap = "move" if steps[-1][0] == "note" else "jump"
            steps.append((gap, self._move(manager if reopening else owner, pipeline[key], reason)))
            previous = key
        if spec.outcome in (WON, LOST):
            steps.append(("clear", self._clear(owner)))
        else:
            if rng.random() < 0.35:
                kind, text = rng.choice(OPEN_NOTES)
                steps.append(("note", self._note(spec, owner, kind, text)))
            if spec.owner != "manager" and rng.random() < 0.12:
                text = rng.choice(COACHING_NOTES)
                steps.append(("coach", self._note(spec, manager, "note", text)))
        spec.steps = steps

    def _lead_steps(self, spec: DealSpec) -> list[Step]:
        """Create the lead, get in touch, qualify: what happened before the conversion."""
        owner = self._user(spec.owner)
        manager = self.cast.manager
        inbound = spec.owner != "manager" and self.rng.random() < 0.45
        source = self._source(INBOUND if inbound else OUTBOUND)
        kind, text = self.rng.choice(LEAD_CONTACT_NOTES)
        # Half log the first contact; the others were qualified on the first call.
        logged = self.rng.random() < 0.5
        self.leads_made += 1

        def create(record: Record) -> Any:
            data = {**spec.lead_data, "source": source}
            if source is not None and source.name == "Campaign":
                data.update(utm_source="newsletter", utm_medium="email", utm_campaign="webinar")
            if inbound:  # typed in by the manager, who hands it out at once
                record.lead = lead_services.lead_create(actor=manager, owner=owner, **data)
            else:
                record.lead = lead_services.lead_create(actor=owner, owner=owner, **data)
            return record.lead

        def contact(record: Record) -> Any:
            body = text.format(**spec.words)
            return lead_services.lead_add_note(
                lead=record.the_lead, actor=owner, kind=kind, body=body
            )

        def qualify(record: Record) -> Any:
            record.lead = lead_services.lead_change_status(
                lead=record.the_lead, actor=owner, status=Lead.Status.QUALIFIED
            )
            return record.lead

        if logged:
            return [("create", create), ("contact", contact), ("qualify", qualify)]
        return [("create", create), ("qualify", qualify)]

    def _note(self, spec: DealSpec, actor: User, kind: str, text: str) -> Callable[..., Any]:
        def step(record: Record) -> Any:
            body = text.format(**spec.words)
            return services.deal_add_note(deal=record.the_deal, actor=actor, kind=kind, body=body)

        return step

    def _move(self, actor: User, stage: Stage, reason: LostReason | None) -> Callable[..., Any]:
        def step(record: Record) -> Any:
            record.deal = services.deal_move_stage(
                deal=record.the_deal, actor=actor, stage=stage, lost_reason=reason
            )
            return record.deal

        return step

    def _clear(self, actor: User) -> Callable[..., Any]:
        def step(record: Record) -> Any:
            record.deal = services.deal_set_next_action(
                deal=record.the_deal, actor=actor, next_action="", due=None
            )
            return record.deal

        return step

    # --- time -------------------------------------------------------------------------------

    def plan_time(self, spec: DealSpec) -> None:
        """When the deal's steps happened (``spec.moments``): strictly increasing, people's
        steps in their working hours, nothing older than SPAN_DAYS nor in the last minutes."""
        when = self.when
        current = self.current
        tz = zoneinfo.ZoneInfo(self._user(spec.owner).timezone or "UTC")
        high = current - timedelta(minutes=10)
        oldest = current - timedelta(days=SPAN_DAYS)
        gaps = [when.uniform(*GAPS[kind]) for kind, _ in spec.steps]
        gaps[0] = 0.0  # the first step starts the story
        # Up to the step that fixes the deal's place in time (its close, or its last step),
        # the gaps are scaled to fit between the start and that moment.
        anchor = len(gaps) - 1
        if spec.lead is not None and spec.after is not None:
            start = spec.after + min(
                timedelta(hours=when.uniform(1, 30)), (high - spec.after) * 0.3
            )
            end = min(high, start + timedelta(days=sum(gaps)))
        else:
            if spec.close is not None:
                anchor = max(i for i, (kind, _) in enumerate(spec.steps) if kind in MOVES)
                end = spec.close
            else:
                latest = {MEETING: 12.0, PROPOSAL: 20.0, NEGOTIATION: 30.0}[spec.outcome]
                end = current - timedelta(days=when.uniform(0.2, latest))
                if spec.due is not None and spec.due < current:
                    end = min(end, spec.due - timedelta(hours=when.uniform(2, 48)))
            start = max(oldest, end - timedelta(days=sum(gaps[: anchor + 1])))
        span = sum(gaps[: anchor + 1]) or 1.0
        raw: list[datetime] = []
        elapsed = 0.0
        for index, gap in enumerate(gaps):
            elapsed += gap
            if index <= anchor:
                raw.append(start + (end - start) * (elapsed / span))
            else:
                raw.append(min(high, raw[-1] + timedelta(days=gap)))
        low = spec.after or oldest
        moments = sorted(_at_work(moment, tz, when, low, high) for moment in raw)
        spec.moments = [moment + timedelta(seconds=i) for i, moment in enumerate(moments)]

    # --- who --------------------------------------------------------------------------------

    def cast_people(self, spec: DealSpec) -> None:
        """Who the deal is with, its title, and its lead's details. Called in the plan's
        order (never the clock's), so the same people get the same deals at any time."""
        rng = self.rng
        persona, account = self._persona(spec)
        spec.persona, spec.account = persona, account
        first = persona.first_name or persona.last_name
        spec.words = {
            "first": first,
            "company": persona.company or "their company",
            "n": rng.choice([8, 10, 12, 15, 20, 25, 40]),
            "dept": rng.choice(DEPARTMENTS),
            "value": f"{spec.value:,.0f} {Deal._meta.get_field('currency').get_default()}",
            "close": f"{spec.close_date:%B} {spec.close_date.day}" if spec.close_date else "",
        }
        repeat = account is not None and account.deals > 1
        what = rng.choice(REPEAT_WHAT if repeat else WHAT).format(**spec.words)
        spec.title = f"{persona.company or f'{persona.first_name} {persona.last_name}'}: {what}"
        if spec.lead is not None:
            return
        need = rng.choice(NEEDS)
        spec.words["need_lower"] = need[0].lower() + need[1:]
        # The next action the lead is qualified with, which the deal carries: an open deal
        # keeps it (due relative to today); a closed one clears it when it closes.
        kinds = [kind for kind, _ in spec.steps]
        qualified_at = spec.moments[kinds.index("qualify")]
        due = spec.due or qualified_at + timedelta(days=rng.randint(2, 7))
        spec.lead_data = {
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "company": persona.company,
            "job_title": persona.job_title,
            "email": persona.email,
            "phone": persona.phone,
            "country": persona.country,
            "region": persona.region,
            "rate": rng.choice(["hot", "hot", "warm"]),
            "budget": (spec.value * Decimal(rng.choice(["0.8", "1", "1.2"]))).quantize(Decimal(1)),
            "authority": rng.choice(list(Lead.Authority.values)),
            "need": need,
            "timeline": rng.choice(["now", "quarter", "quarter"]),
            "estimated_value": spec.value,
            "next_action": rng.choice(NEXT_ACTIONS[spec.outcome]),
            "next_action_due": due,
        }
        if persona.company and "@" in persona.email and rng.random() < 0.5:
            spec.lead_data["website"] = f"https://www.{persona.email.split('@')[-1]}"

    def _source(self, weights: dict[str, int]) -> Source | None:
        name = _weighted(self.rng, weights)
        return self.sources.get(name) or (
            self.rng.choice(list(self.sources.values())) if self.sources else None
        )

    def _persona(self, spec: DealSpec) -> tuple[Persona, Account | None]:
        """Who the deal is with. A new lead is sometimes someone else at a company the owner
        already sells to; an existing lead's company may get more deals later."""
        rng = self.rng
        if spec.lead is not None:
            lead = spec.lead
            persona = Persona(
                lead.first_name,
                lead.last_name,
                lead.company,
                "",
                lead.job_title,
                lead.email,
                lead.phone,
                str(lead.country or ""),
                lead.region,
            )
            return persona, self._new_account(spec, persona)
        for _ in range(30):
            persona = self.personas.make()
            if persona.company.lower() not in self.company_names:
                break
        self.company_names.add(persona.company.lower())
        mine = [a for a in self.accounts if a.owner == spec.owner and a.deals < 4]
        if mine and rng.random() < REPEAT_SHARE:
            account = rng.choice(mine)
            account.deals += 1
            # A phone-only persona has no address yet: one from the ASCII slug of the name.
            local = persona.email.split("@")[0] or email_local_part(
                persona.first_name, persona.last_name
            )
            email = f"{local}@{account.email_domain}"
            for digit in range(2, 9):
                if email not in self.personas.emails:
                    break
                email = f"{local}{digit}@{account.email_domain}"
            self.personas.emails.add(email)
            same_country = persona.country == account.country
            persona = replace(
                persona,
                company=account.name,
                email=email,
                phone=persona.phone if same_country else "",
                country=account.country,
                region=account.region if not same_country else persona.region,
            )
            return persona, account
        return persona, self._new_account(spec, persona)

    def _new_account(self, spec: DealSpec, persona: Persona) -> Account | None:
        if not persona.company or "@" not in persona.email:
            return None
        account = Account(
            name=persona.company,
            email_domain=persona.email.split("@")[1],
            owner=spec.owner,
            country=persona.country,
            region=persona.region,
        )
        self.accounts.append(account)
        return account

    def _value(self, spec: DealSpec) -> Decimal:
        rng = self.rng
        if spec.lead is not None and spec.lead.estimated_value is not None:
            return Decimal(spec.lead.estimated_value).quantize(Decimal(1))
        amount = rng.choice(BIG_VALUES) if rng.random() < 0.12 else rng.choice(VALUES)
        return Decimal(amount)

    def _close_date(self, spec: DealSpec) -> date:
        """Open deals: within the next four months (later for earlier stages). Won and lost:
        what was expected at the time, around when they closed."""
        rng = self.rng
        today = self.current.date()
        if spec.close is not None:
            return spec.close.date() + timedelta(days=rng.randint(-10, 21))
        low, high = {MEETING: (30, 120), PROPOSAL: (14, 100), NEGOTIATION: (3, 60)}.get(
            spec.outcome, (14, 120)
        )
        return today + timedelta(days=rng.randint(low, high))

    # --- run --------------------------------------------------------------------------------

    def plan(self) -> list[DealSpec]:
        """Every deal's story, timing and people, before anything is written."""
        specs = self.specs()
        for spec in specs:
            self.story(spec)
            self.plan_time(spec)
        for spec in specs:
            self.cast_people(spec)
        return specs

    def play(self, spec: DealSpec, clock: Clock) -> None:
        record = Record(lead=spec.lead)
        for (_, call), moment in zip(spec.steps, spec.moments, strict=True):
            clock.run(moment, partial(call, record))
        deal = record.the_deal
        self.made[Lead].add(record.the_lead.pk)
        self.made[Deal].add(deal.pk)
        if deal.contact_id is not None:
            self.made[Contact].add(deal.contact_id)
        if deal.company_id is not None:
            self.made[Company].add(deal.company_id)


def deal_maker(cast: Cast, current: datetime | None = None) -> DealMaker:
    """Choices from ``random.Random(SEED)``, timing from ``random.Random(SEED + 1)``."""
    rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
    return DealMaker(cast, rng, random.Random(SEED + 1), current)  # noqa: S311


def demo_deals_exist() -> bool:
    return Deal.objects.filter(source_lead__email__endswith=DEMO_EMAIL_TLD).exists()


@transaction.atomic
def seed_deals(*, admin: User, manager: User, rep1: User, rep2: User) -> tuple[int, int]:
    """Create the demo deals unless they are already there. Returns how many deals were made
    and how many leads were made for them."""
    if demo_deals_exist():
        return 0, 0
    ensure_default_stages()
    maker = deal_maker(Cast(admin=admin, manager=manager, rep1=rep1, rep2=rep2))
    specs = maker.plan()
    # Made in the order they were converted, so each company is created by its first deal.
    # (Only the order of the writes follows the clock; what is written does not.)
    specs.sort(key=lambda spec: spec.converted_at)
    clock = Clock()
    for spec in specs:
        maker.play(spec, clock)
    _backdate(clock, maker.made)
    return len(specs), maker.leads_made
