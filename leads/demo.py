"""Demo leads for ``seed_demo``: ~280 leads that look like a team's last three months.

Every lead is made and moved through the real services (``leads.services``) by the demo users
who would have done it: admins import and capture web leads into the pool, the manager
assigns them and reopens closed ones, reps claim, call, qualify and close. So the history,
notes, owners, teams and timestamps are exactly what the product itself writes.

The only thing the services cannot do is live in the past: they stamp ``now()``. Once the
leads are made, ``_backdate`` moves what each service call wrote back to the moment it is
meant to have happened (demo data only), so leads spread over the last ~90 days while the
next-action due dates stay relative to today (overdue, due today, upcoming).

Deterministic: who, which company, status, owner, source, notes and tags come from
``random.Random(2026)``; timing draws from a stream of their own (``random.Random(2027)``), so
only the timestamps depend on when the command runs, never a choice (``Storyteller.plan``
is tested at many clocks). Every demo email is made from ASCII slugs. Idempotent: demo
leads' email addresses use the reserved ``.example`` top-level domain, and seeding is skipped
once any such lead exists. All of it runs in one transaction: all the leads or none.
"""

from __future__ import annotations

import random
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.timezone import now

from accounts.models import User
from crm.models import AuditEvent
from leads import services
from leads.models import Lead, LeadNote, LostReason, ResponseTarget, Source, Tag
from leads.sla import services as sla

SEED = 2026
DEMO_EMAIL_TLD = ".example"  # RFC 2606: never a real mailbox; also marks the demo leads
SPAN_DAYS = 90
# Qualified demo leads were last worked on at least this long ago, whatever the clock, so
# ``deals.demo`` may convert any of them: which ones it picks must not depend on the clock.
QUALIFIED_QUIET_HOURS = 8

# How many leads end in each status, per owner. Converted is left out on purpose: a lead
# becomes converted only through the conversion feature, which seeds its own deals.
MIX_COLUMNS = [
    "new",
    "not_contacted",
    "contacted",
    "qualified",
    "unqualified",
    "lost",
    "junk",
    "canceled",
]
STATUS_MIX: dict[str, dict[str, int]] = {
    owner: dict(zip(MIX_COLUMNS, counts, strict=True))
    for owner, counts in {
        "rep1": (13, 9, 26, 18, 8, 12, 5, 5),
        "rep2": (13, 9, 26, 18, 8, 12, 5, 5),
        "manager": (3, 2, 8, 6, 3, 3, 1, 2),
        "pool": (32, 9, 0, 0, 0, 4, 8, 3),  # the pool is never contacted nor qualified
    }.items()
}

# Where leads come from: inbound ones come in by themselves, outbound ones a rep types in.
INBOUND_SOURCES = {
    "Web form": 35,
    "Email": 12,
    "Campaign": 18,
    "Social": 10,
    "Import": 15,
    "Event": 10,
}
OUTBOUND_SOURCES = {"Cold call": 40, "Referral": 25, "Manual": 20, "Event": 15}
CREATED_BY_ADMIN = {"Web form", "Campaign", "Social", "Import"}  # the rest: the manager
UTM = {
    "Web form": ("google", "organic", ""),
    "Campaign": ("newsletter", "email", "spring-webinar"),
    "Social": ("linkedin", "social", "ops-teams-ad"),
}

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Isabella", "Ethan",
    "Mia", "James", "Amelia", "Benjamin", "Harper", "Elijah", "Evelyn", "Daniel", "Abigail",
    "Henry", "Chloé", "Jonas", "Ingrid", "Lars", "Priya", "Arjun", "Mei", "Hiroshi", "Aisha",
    "Omar", "Fatima", "Diego", "Lucía", "Marco", "Giulia", "Sean", "Niamh", "Zoe", "Kwame",
    "Amara", "Tomasz", "Katarzyna", "Sofia", "Erik", "Hannah", "Felix", "Clara", "Leon",
    "Grace", "Samuel", "Nora", "David", "Rachel", "Victor", "Elena", "Andre", "Maya",
    "Julian", "Camille", "Theo", "Ruth", "Patrick", "Laura", "Kenji", "Yasmin", "Oscar",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel",
    "Shah", "Chen", "Wang", "Kim", "Tanaka", "Sato", "Müller", "Schmidt", "Schneider",
    "Fischer", "Weber", "Dubois", "Moreau", "Laurent", "Rossi", "Bianchi", "Kowalski",
    "Nowak", "Jansen", "de Vries", "O'Brien", "Murphy", "Kelly", "Byrne", "Okafor", "Mensah",
    "Haddad", "Khan", "Ali", "Svensson", "Johansson", "Larsen", "Novak", "Horvat", "Silva",
    "Santos", "Costa", "Ferreira", "Cohen", "Levi", "Park", "Choi", "Ibrahim", "Hughes",
]  # fmt: skip
COMPANY_STEMS = [
    "Northwind", "Bluebird", "Cedar", "Harbor", "Summit", "Ironwood", "Brightline", "Maple",
    "Silverlake", "Redwood", "Granite", "Lumen", "Orchard", "Pioneer", "Keystone", "Copper",
    "Atlas", "Beacon", "Evergreen", "Fairview", "Highland", "Juniper", "Kestrel", "Lakeside",
    "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Riverbend", "Sterling", "Tidewater",
    "Vantage", "Willow", "Zenith", "Alder", "Crescent", "Driftwood", "Foxglove", "Greenleaf",
    "Hawthorne", "Blue Fern", "Old Mill", "Two Rivers", "Northstar", "Sunfield",
]  # fmt: skip
COMPANY_TRADES = [
    "Logistics", "Dental", "Analytics", "Foods", "Manufacturing", "Software", "Health",
    "Realty", "Consulting", "Labs", "Energy", "Outfitters", "Media", "Freight", "Insurance",
    "Architects", "Bakery", "Legal", "Clinics", "Print", "Solar", "Furniture",
]  # fmt: skip
JOB_TITLES = [
    "Operations Manager", "Head of Sales", "CEO", "Founder", "Office Manager", "IT Director",
    "Procurement Lead", "Marketing Director", "CFO", "Practice Manager", "VP Operations",
    "Facilities Manager", "COO", "Owner", "Customer Success Lead", "Purchasing Manager",
    "Sales Director", "Managing Director", "",
]  # fmt: skip

# (country, weight, [(region, phone prefix or "")], company suffix)
COUNTRIES: list[tuple[str, int, list[tuple[str, str]], str]] = [
    (
        "US",
        60,
        [
            ("New York", "212"),
            ("New York", "718"),
            ("California", "415"),
            ("California", "310"),
            ("Texas", "512"),
            ("Texas", "214"),
            ("Illinois", "312"),
            ("Massachusetts", "617"),
            ("Washington", "206"),
            ("Georgia", "404"),
            ("Colorado", "303"),
            ("Florida", "305"),
        ],
        "Inc.",
    ),
    ("CA", 8, [("Ontario", "416"), ("British Columbia", "604"), ("Quebec", "514")], "Inc."),
    ("GB", 14, [("London", ""), ("Greater Manchester", ""), ("Scotland", "")], "Ltd"),
    ("DE", 6, [("Berlin", ""), ("Bavaria", ""), ("Hamburg", "")], "GmbH"),
    ("FR", 4, [("Île-de-France", ""), ("Auvergne-Rhône-Alpes", "")], "SAS"),
    ("NL", 3, [("North Holland", ""), ("Utrecht", "")], "B.V."),
    ("AU", 3, [("New South Wales", ""), ("Victoria", "")], "Pty Ltd"),
    ("IE", 2, [("Dublin", ""), ("Cork", "")], "Ltd"),
]

CALL_NOTES = [
    (
        "Intro call with {first}. {company} tracks customers in spreadsheets and it is "
        "starting to hurt.",
        "Interested",
        "Send pricing",
    ),
    (
        "Reached {first} on the second try. Wants to see the team view before a demo.",
        "Wants a demo",
        "Book a demo",
    ),
    (
        "{first} is comparing us with two other vendors; asked a lot about importing data.",
        "Evaluating",
        "Send the import guide",
    ),
    ("Spoke with {first} for 20 minutes. Budget is approved for next quarter.", "Warm", ""),
    (
        "{first} called back after the webinar and asked about pricing for 15 seats.",
        "Interested, call back",
        "Prepare a 15-seat quote",
    ),
    (
        "Short call, {first} was between meetings and asked for the details by email.",
        "Call back later",
        "Email the overview",
    ),
    ("Discovery call: 8 people in sales, no CRM today, renewals handled by hand.", "", ""),
]
EMAIL_NOTES = [
    ("Sent the overview deck and two customer stories from the same industry.", "", ""),
    (
        "{first} replied to the intro email: interested, but only after their busy season.",
        "Not now",
        "Check back next month",
    ),
    ("Emailed the pricing sheet and a link to book a slot.", "Sent", "Wait for reply"),
    (
        "{first} forwarded our proposal to their finance lead and asked for a monthly option.",
        "Interested",
        "Send monthly pricing",
    ),
]
MEETING_NOTES = [
    (
        "Demo for {first} and two colleagues. They liked the duplicate warnings and the "
        "next-action list.",
        "Positive",
        "Send the proposal",
    ),
    (
        "Met {first} at {company}'s office. Walked through their current process on a whiteboard.",
        "Good fit",
        "Write up their process",
    ),
    ("Video call with the {company} team: questions on permissions and exports.", "", ""),
]
PLAIN_NOTES = [
    "Looked them up: about {size} people, growing, hiring two sales roles.",
    "{company} is a customer of one of our partners; ask for an introduction.",
    "Website chat transcript says they need this before the end of the quarter.",
    "Prefers email over phone. Best reached in the morning.",
    "Their contract with the current vendor ends in {month}.",
]
ATTEMPT_NOTES = [
    "Called, no answer. Left a voicemail.",
    "Called twice, went to voicemail both times.",
    "No reply to the intro email yet.",
    "Number rings out; sent a LinkedIn message instead.",
    "Tried the main line, reception took a message.",
]
COACHING_NOTES = [
    "Manager review: push for a date for the demo, this one is worth it.",
    "Manager review: check who signs off on the budget before sending a proposal.",
    "Manager review: good notes. Loop in the partner team if they ask about integrations.",
]
NEXT_ACTIONS = [
    "Call to book a demo",
    "Send pricing",
    "Follow up on the overview email",
    "Intro call",
    "Send a case study",
    "Try calling again",
    "Follow up on voicemail",
    "Check in after their busy season",
    "Confirm who else should join the demo",
]
QUALIFIED_ACTIONS = [
    "Send the proposal",
    "Demo with the wider team",
    "Confirm the decision date",
    "Review the contract draft with them",
    "Call the decision maker",
    "Follow up on the proposal",
]
NEEDS = [
    "Replace spreadsheets for tracking customer follow-ups",
    "One pipeline for the whole sales team",
    "Stop losing inbound leads between marketing and sales",
    "Forecast revenue without chasing reps for updates",
    "Faster quotes for repeat customers",
    "See which campaigns bring paying customers",
]
DESCRIPTIONS = [
    "Came in through the pricing page; asked whether we integrate with their email.",
    "Met at the regional trade fair. Runs a family business, second generation.",
    "Referred by an existing customer who is very happy with us.",
    "Downloaded the buyer's guide twice this month.",
]
CLOSE_NOTES = {
    "unqualified": [
        "Too small: a team of two, spreadsheets are fine for now.",
        "They need a ticketing tool, not a CRM.",
        "",
    ],
    "lost": ["Went with the cheaper option.", "No reply after four attempts.", ""],
    "junk": ["Spam form submission.", "Test entry.", "Fake details, number does not exist."],
    "canceled": [
        "Created twice by mistake.",
        "Asked not to be contacted again.",
        "Badge scan at the event, not a real inquiry.",
    ],
}
LOST_REASONS = {
    "unqualified": ["Not a fit", "No budget", "No decision maker"],
    "lost": ["Chose a competitor", "No response", "Bad timing", "No budget"],
}
NICKNAMES = {
    "Benjamin": "Ben",
    "Samuel": "Sam",
    "Daniel": "Dan",
    "Katarzyna": "Kasia",
    "Patrick": "Pat",
    "Elijah": "Eli",
    "Abigail": "Abby",
    "Isabella": "Bella",
    "Julian": "Jules",
    "Tomasz": "Tomek",
    "Victor": "Vic",
    "Olivia": "Liv",
}
REOPEN_NOTES = [
    "They came back to us after the summer: reopening.",
    "New budget approved on their side; reopening.",
    "Their chosen vendor fell through; reopening.",
]


@dataclass
class Persona:
    first_name: str
    last_name: str
    company: str
    domain: str
    job_title: str
    email: str
    phone: str
    country: str
    region: str


@dataclass
class Spec:
    owner: str  # "rep1", "rep2", "manager" or "pool"
    status: str
    source: str
    inbound: bool  # came in by itself (web form, campaign, import…) rather than by a rep
    due: str = "none"  # "overdue", "today", "upcoming" or "none"
    reopened: bool = False
    via_not_contacted: bool = False
    quiet: bool = False  # open, but nobody has worked on it for over a month
    close_note: str = ""
    persona: Persona | None = None  # given by _add_personas

    @property
    def who(self) -> Persona:
        if self.persona is None:
            raise RuntimeError("give the spec a persona first")
        return self.persona


@dataclass
class Cast:
    admin: User
    manager: User
    rep1: User
    rep2: User

    def owner(self, key: str) -> User | None:
        return None if key == "pool" else getattr(self, key)


def _ascii(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat.lower() if ch.isalnum() or ch in " -").strip()


def _slug(text: str) -> str:
    return "-".join(_ascii(text).split())


def email_local_part(*names: str) -> str:
    """An email local part from names, ASCII only ("Lucía Müller" gives lucia.muller):
    demo addresses must pass ``EmailValidator``, which refuses non-ASCII local parts."""
    parts = [_slug(name).replace("-", "") for name in names]
    return ".".join(part for part in parts if part) or "contact"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class PersonaMaker:
    """Plausible people at plausible companies, no two sharing an email, phone or
    (last name, company): the only duplicates are the deliberate ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.names: set[tuple[str, str]] = set()

    def make(self, *, spammy: bool = False) -> Persona:
        rng = self.rng
        if spammy:
            first, last = rng.choice(
                [("SEO", "Expert"), ("Test", "Test"), ("Free", "Offer"), ("Web", "Design Pro")]
            )
            domain = rng.choice(["rank-boost", "best-offers-now", "qwerty", "promo-mail"])
            email = ""
            while not email or email in self.emails:
                email = f"{_slug(first)}{rng.randint(10, 999)}@{domain}{DEMO_EMAIL_TLD}"
            self.emails.add(email)
            return Persona(first, last, "", domain, "", email, "", "", "")
        country, regions, suffix = self._country()
        region, area = rng.choice(regions)
        for _ in range(50):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            stem, trade = rng.choice(COMPANY_STEMS), rng.choice(COMPANY_TRADES)
            company = f"{stem} {trade}" + (f" {suffix}" if rng.random() < 0.4 else "")
            if (last.lower(), company.lower()) not in self.names:
                break
        self.names.add((last.lower(), company.lower()))
        domain = f"{_slug(stem)}-{_slug(trade)}"
        email = self._email(first, last, domain)
        phone = self._phone(country, area) if rng.random() < 0.8 else ""
        if rng.random() < 0.08 and phone:
            email = ""  # a cold-call style lead: a phone number only
        if not phone and not email:
            email = self._email(first, last, domain)
        return Persona(
            first_name=first,
            last_name=last,
            company=company,
            domain=domain,
            job_title=rng.choice(JOB_TITLES),
            email=email,
            phone=phone,
            country=country,
            region=region,
        )

    def _country(self) -> tuple[str, list[tuple[str, str]], str]:
        rows = {row[0]: row for row in COUNTRIES}
        code = _weighted(self.rng, {row[0]: row[1] for row in COUNTRIES})
        return code, rows[code][2], rows[code][3]

    def _email(self, first: str, last: str, domain: str) -> str:
        f, la = _slug(first).replace("-", ""), _slug(last).replace("-", "")
        for pattern in (f"{f}.{la}", f"{f[0]}{la}", f"{f}", f"{f}.{la}{self.rng.randint(2, 9)}"):
            email = f"{pattern}@{domain}{DEMO_EMAIL_TLD}"
            if email not in self.emails:
                self.emails.add(email)
                return email
        raise RuntimeError("ran out of demo email addresses")  # pragma: no cover

    def _phone(self, country: str, area: str) -> str:
        for _ in range(200):
            # Numbers reserved for fiction: 555-01xx in North America, 07700 900xxx in the UK.
            if country in ("US", "CA"):
                digits = f"{area}5550{self.rng.randint(100, 199)}"
                phone = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
            elif country == "GB":
                digits = f"07700900{self.rng.randint(0, 999):03d}"
                phone = f"{digits[:5]} {digits[5:]}"
            else:
                return ""
            if digits not in self.phones:
                self.phones.add(digits)
                return phone
        return ""


def _specs(rng: random.Random) -> list[Spec]:
    specs: list[Spec] = []
    for owner, mix in STATUS_MIX.items():
        for status, count in mix.items():
            for _ in range(count):
                inbound = owner == "pool" or rng.random() < 0.35
                source = _weighted(rng, INBOUND_SOURCES if inbound else OUTBOUND_SOURCES)
                spec = Spec(owner=owner, status=status, source=source, inbound=inbound)
                if owner != "pool" and status in Lead.OPEN_STATUSES:
                    buckets = {"overdue": 30, "today": 20, "upcoming": 50}
                    if status != "qualified":
                        buckets["none"] = 20
                    spec.due = _weighted(rng, buckets)
                specs.append(spec)
    rng.shuffle(specs)
    # A few leads that were lost and reopened by the manager, and some that went quiet first.
    for spec in [s for s in specs if s.owner != "pool" and s.status == "contacted"][:3]:
        spec.reopened = True
    for spec in [s for s in specs if s.owner != "pool" and s.status == "qualified"][:2]:
        spec.reopened = True
    for spec in [s for s in specs if s.status == "contacted" and not s.reopened][:3]:
        spec.via_not_contacted = True
    # Some gone quiet, so "No activity for 30 days" finds them at any clock (not by chance).
    plain = [s for s in specs if s.status == "contacted" and s.owner != "pool"]
    for spec in [s for s in plain if not s.reopened and not s.via_not_contacted][:4]:
        spec.quiet = True
    return specs


def _add_personas(specs: list[Spec], rng: random.Random) -> None:
    maker = PersonaMaker(rng)
    for spec in specs:
        spec.persona = maker.make(spammy=spec.status == "junk" and rng.random() < 0.5)
    _add_duplicates(specs)


def _add_duplicates(specs: list[Spec]) -> None:
    """Deliberate near-duplicates, so the duplicate hints have something to show."""
    taken: set[int] = set()

    def pick(test: Callable[[Spec], bool]) -> Spec:
        for index, spec in enumerate(specs):
            real = spec.who.country in ("US", "CA", "GB")  # not a spam entry
            if index not in taken and real and test(spec):
                taken.add(index)
                return spec
        raise RuntimeError("no lead fits this duplicate")  # pragma: no cover

    def has(kind: str) -> Callable[[Spec], bool]:
        return lambda s: bool(getattr(s.persona, kind))

    # 1. The same person filled in the web form again (same email) while rep1 works on them.
    first = pick(lambda s: s.owner == "rep1" and s.status == "contacted" and has("email")(s))
    again = pick(lambda s: s.owner == "pool" and s.status == "new")
    again.persona = replace(first.who, job_title="")
    # 2. Same phone typed another way, first name shortened: rep2's lead and a pool lead.
    first = pick(lambda s: s.owner == "rep2" and s.status == "new" and has("phone")(s))
    again = pick(lambda s: s.owner == "pool" and s.status == "new")
    p = first.who
    digits = "".join(ch for ch in p.phone if ch.isdigit())
    if p.country == "GB":
        other_phone = f"+44 {digits[1:5]} {digits[5:]}"
    else:
        other_phone = f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"
    short = NICKNAMES.get(p.first_name, f"{p.first_name[0]}.")
    again.persona = replace(p, phone=other_phone, email="", first_name=short)
    # 3. Both reps have the same contact (same email) — each sees a hint about the other's.
    first = pick(lambda s: s.owner == "rep1" and s.status == "qualified" and has("email")(s))
    again = pick(lambda s: s.owner == "rep2" and s.status == "contacted")
    again.persona = replace(first.who, phone="")
    # 4. Same last name at the same company: another person, or the same one? (manager/rep1)
    first = pick(lambda s: s.owner == "manager" and s.status == "contacted")
    again = pick(lambda s: s.owner == "rep1" and s.status == "new")
    p = first.who
    new_first = "Anna" if p.first_name != "Anna" else "Jonas"
    again.persona = replace(
        p,
        first_name=new_first,
        email=f"{email_local_part(new_first)}@{p.domain}{DEMO_EMAIL_TLD}",
        phone="",
    )
    # 5. A lead canceled as the duplicate of rep2's qualified lead (same email).
    first = pick(lambda s: s.owner == "rep2" and s.status == "qualified" and has("email")(s))
    again = pick(lambda s: s.owner == "rep2" and s.status == "canceled")
    again.persona = replace(first.who)
    again.close_note = "Created twice by mistake: this person is already in the CRM."
    # 6. Two pool leads with the same phone number.
    first = pick(lambda s: s.owner == "pool" and s.status == "not_contacted" and has("phone")(s))
    again = pick(lambda s: s.owner == "pool" and s.status == "new")
    again.persona = replace(first.who, email="")


# --- Time ----------------------------------------------------------------------------------


# When each service call started (wall clock) and when it should appear to have happened.
Steps = list[tuple[datetime, datetime]]


def _backdate(history: dict[int, Steps]) -> None:
    """DEMO DATA ONLY: move the seeded leads' history back in time.

    The services stamp ``now()``; a demo needs leads spread over weeks. ``history`` gives, for
    each lead, the wall-clock time just before each of its service calls and the moment that
    call should appear to have happened. Every row a call wrote (its notes, its audit events,
    and the lead's own timestamps it set) is stamped at or after that call's start and before
    the next one's, so each value moves to the moment of the last call that started before it.

    This is the one place that rewrites leads, notes and audit events behind the services'
    back (bulk UPDATEs), and it is only ever run on the demo leads that were just seeded.
    """

    def moved(lead_id: int, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        latest_first = reversed(history[lead_id])  # calls are listed in the order they ran
        return next((at for since, at in latest_first if value >= since), value)

    ids = list(history)
    notes = list(LeadNote.objects.filter(lead_id__in=ids).only("lead_id", "created_at"))
    for note in notes:
        note.created_at = moved(note.lead_id, note.created_at) or note.created_at
    LeadNote.objects.bulk_update(notes, ["created_at"], batch_size=500)

    events = list(
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Lead), target_id__in=ids
        ).only("target_id", "occurred_at")
    )
    for event in events:
        event.occurred_at = moved(event.target_id, event.occurred_at) or event.occurred_at
    AuditEvent.objects.bulk_update(events, ["occurred_at"], batch_size=500)

    stamps = [
        "created_at",
        "updated_at",
        "last_activity_at",
        "first_contacted_at",
        "qualified_at",
        "closed_at",
    ]
    leads = list(Lead.objects.filter(pk__in=ids).only(*stamps))
    for lead in leads:
        for name in stamps:
            setattr(lead, name, moved(lead.pk, getattr(lead, name)))
    Lead.objects.bulk_update(leads, stamps, batch_size=500)


def _response_times(ids: list[int], current: datetime) -> int | None:
    """DEMO DATA ONLY: the response-target stamps of the back-dated leads.

    Deadlines follow the back-dated arrival times, and first response times the back-dated
    first contacts. A lead that waited past its deadline long ago counts as alerted and
    escalated back then, except one, the most recent lead whose escalation is overdue: the
    real scan alerts its owner and escalates it to the manager now, so the bell has an
    alert and an escalation to show. Leads that only just passed their deadline are left
    to the scan as well, as they would be. Returns the escalated lead's id.
    """
    target = ResponseTarget.current()
    fields = ["first_response_time", "sla_due_at", "sla_alerted_at", "sla_escalated_at"]
    leads = list(
        Lead.objects.filter(pk__in=ids).only(
            "created_at", "first_contacted_at", "status", "owner_id", *fields
        )
    )
    overdue: list[Lead] = []
    for lead in leads:
        contacted = lead.first_contacted_at
        lead.first_response_time = contacted - lead.created_at if contacted else None
        lead.sla_due_at = due = sla.contact_deadline(lead.created_at, target)
        escalate = sla.escalation_deadline(lead, target) or due
        lead.sla_alerted_at = lead.sla_escalated_at = None
        if contacted is not None:  # the alerts it had while it waited
            lead.sla_alerted_at = due if due < contacted else None
            lead.sla_escalated_at = escalate if escalate < contacted else None
        elif sla.is_waiting(lead) and escalate < current:
            lead.sla_alerted_at, lead.sla_escalated_at = due, escalate
            if lead.owner_id is not None:
                overdue.append(lead)
    chosen = max(overdue, key=lambda lead: (lead.sla_due_at, lead.pk), default=None)
    if chosen is not None:
        chosen.sla_alerted_at = chosen.sla_escalated_at = None
    Lead.objects.bulk_update(leads, fields, batch_size=500)
    sla.sla_scan(at=current)
    return chosen.pk if chosen is not None else None


def _local_at(owner: User, day_offset: int, rng: random.Random, current: datetime) -> datetime:
    """A working-hours time ``day_offset`` days from today, in the owner's own timezone."""
    tz = zoneinfo.ZoneInfo(owner.timezone or "UTC")
    day = current.astimezone(tz).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 30))), tzinfo=tz)


def _due(spec: Spec, owner: User, rng: random.Random, current: datetime) -> datetime | None:
    if spec.due == "today":
        return _local_at(owner, 0, rng, current)
    if spec.due == "overdue":
        return _local_at(owner, -rng.randint(1, 12), rng, current)
    if spec.due == "upcoming":
        return _local_at(owner, rng.randint(1, 21), rng, current)
    return None


AGE_DAYS = {
    "new": (0.05, 9.0),
    "not_contacted": (2.0, 30.0),
    "contacted": (3.0, 75.0),
    "qualified": (10.0, SPAN_DAYS),
}


def _moments(
    spec: Spec,
    steps: int,
    due: datetime | None,
    tz: zoneinfo.ZoneInfo,
    rng: random.Random,
    current: datetime,
) -> list[datetime]:
    """When each step happened: creation first, people's steps in their working hours, the
    last step before any due date."""
    low, high = AGE_DAYS.get(spec.status, (5.0, SPAN_DAYS))
    if spec.status == "new" and rng.random() < 0.5:
        high = 1.0  # half the new leads came in within the last day
    start = current - timedelta(days=rng.uniform(low, high))
    latest = current - timedelta(minutes=rng.randint(5, 90))
    if spec.status == "qualified":
        latest = min(latest, current - timedelta(hours=QUALIFIED_QUIET_HOURS + 1))
    if spec.quiet:
        latest = min(latest, current - timedelta(days=rng.uniform(35, 60)))
    if due is not None and due < current:
        latest = min(latest, due - timedelta(hours=rng.randint(2, 48)))
    if latest - start < timedelta(hours=1):
        start = latest - timedelta(days=rng.uniform(1, 6))
    if not spec.inbound:  # typed in by a person at work; web forms arrive at any hour
        start = _working_hours(start, tz, rng, start - timedelta(days=2), latest)
    share = rng.uniform(0.6, 1.0) if spec.status in Lead.OPEN_STATUSES else rng.uniform(0.2, 1)
    end = start + (latest - start) * share
    later = [start + (end - start) * rng.random() for _ in range(max(steps - 2, 0))]
    if steps > 1:
        later.append(end)
    later = sorted(_working_hours(moment, tz, rng, start, latest) for moment in later)
    # Strictly increasing, so the timeline reads in the order things were done.
    return [moment + timedelta(seconds=i) for i, moment in enumerate([start, *later])]


def _working_hours(
    moment: datetime, tz: zoneinfo.ZoneInfo, rng: random.Random, low: datetime, high: datetime
) -> datetime:
    """A time between 8:00 and 18:00 local time, on the moment's day or the next (or the
    previous) one, kept within (low, high]; the moment itself if it already is one or if
    nothing fits."""
    local = moment.astimezone(tz)
    if 8 <= local.hour < 18:
        return moment
    day = local.date() + timedelta(days=1 if local.hour >= 18 else 0)
    for _ in range(2):
        opens = max(datetime.combine(day, time(8), tzinfo=tz), low + timedelta(minutes=1))
        closes = min(datetime.combine(day, time(18), tzinfo=tz), high)
        if opens < closes:
            return opens + (closes - opens) * rng.random()
        day -= timedelta(days=1)
    return moment


# --- Stories -------------------------------------------------------------------------------

# One step of a lead's story: a service call, given the lead and the moment it happens.
Step = Callable[[Lead, datetime], object]


class Storyteller:
    """Turns a spec into the service calls, by the right people, that would have produced it."""

    def __init__(self, cast: Cast, rng: random.Random, clock: random.Random) -> None:
        self.cast = cast
        self.rng = rng  # who, what, which status: the same on every run, at any clock
        # When: how many draws depend on the time of day, so no choice may come from it.
        self.clock = clock
        self.sources = {s.name: s for s in Source.objects.filter(is_active=True)}
        reasons = LostReason.objects.filter(is_active=True) or LostReason.objects.all()
        self.reasons = {r.name: r for r in reasons}
        self.tags = {t.name: t for t in Tag.objects.all()}

    # Building blocks: each returns a step.

    def note(self, actor: User, kind: str, p: Persona) -> Step:
        rng = self.rng
        if kind == LeadNote.Kind.NOTE:
            body, outcome, next_step = rng.choice(PLAIN_NOTES), "", ""
        else:
            pool = {"call": CALL_NOTES, "email": EMAIL_NOTES, "meeting": MEETING_NOTES}[kind]
            body, outcome, next_step = rng.choice(pool)
        text = body.format(
            first=p.first_name or p.last_name,
            company=p.company or "the company",
            size=rng.choice([12, 25, 40, 80, 150]),
            month=rng.choice(["March", "June", "September", "December"]),
        )

        def step(lead: Lead, at: datetime) -> object:
            return services.lead_add_note(
                lead=lead, actor=actor, kind=kind, body=text, outcome=outcome, next_step=next_step
            )

        return step

    def contact(self, actor: User, p: Persona) -> Step:
        kind = self.rng.choices(["call", "email", "meeting"], weights=[6, 3, 1])[0]
        return self.note(actor, kind, p)

    def plain(self, actor: User, body: str) -> Step:
        def step(lead: Lead, at: datetime) -> object:
            return services.lead_add_note(
                lead=lead, actor=actor, kind=LeadNote.Kind.NOTE, body=body
            )

        return step

    def status(self, actor: User, status: str, note: str = "", reason: str = "") -> Step:
        lost_reason = self.reasons.get(reason) if reason else None
        if status in Lead.REASON_STATUSES and lost_reason is None:
            lost_reason = next(iter(self.reasons.values()))

        def step(lead: Lead, at: datetime) -> object:
            return services.lead_change_status(
                lead=lead, actor=actor, status=status, reason=lost_reason, note=note
            )

        return step

    def next_action(self, actor: User, text: str, due: datetime | None = None) -> Step:
        """Set (or, with no text, clear) the next action; without ``due``, a few days on."""
        days = self.rng.randint(2, 7)

        def step(lead: Lead, at: datetime) -> object:
            when = due if due is not None or not text else at + timedelta(days=days)
            return services.lead_set_next_action(lead=lead, actor=actor, next_action=text, due=when)

        return step

    def tag(self, actor: User, *names: str) -> Step:
        tags = [self.tags[name] for name in names if name in self.tags]

        def step(lead: Lead, at: datetime) -> object:
            return services.lead_add_tags(lead=lead, actor=actor, tags=tags)

        return step

    def bant(self, actor: User) -> Step:
        rng = self.rng
        budget = Decimal(rng.choice([5, 8, 12, 20, 25, 40, 60, 90, 120]) * 1000)
        value = (budget * Decimal(rng.choice(["0.8", "1", "1.2", "1.5"]))).quantize(Decimal(1))
        data: dict[str, Any] = {
            "budget": budget,
            "authority": rng.choice(list(Lead.Authority.values)),
            "need": rng.choice(NEEDS),
            "timeline": rng.choice(["now", "quarter", "quarter", "year"]),
            "estimated_value": value,
        }

        def step(lead: Lead, at: datetime) -> object:
            return services.lead_update(lead=lead, actor=actor, expected_version=None, **data)

        return step

    def handover(self, owner: User) -> Step:
        """An inbound lead leaves the pool: the manager assigns it, or its owner claims it."""
        manager = self.cast.manager
        assigned = owner != manager and self.rng.random() < 0.6

        def step(lead: Lead, at: datetime) -> object:
            if assigned:
                return services.lead_assign_owner(lead=lead, actor=manager, owner=owner)
            return services.lead_claim(lead=lead, actor=owner)

        return step

    # The story of one lead.

    def fields(self, spec: Spec, p: Persona) -> dict[str, Any]:
        rng = self.rng
        source = self.sources.get(spec.source) or (
            rng.choice(list(self.sources.values())) if self.sources else None
        )
        utm_source, utm_medium, utm_campaign = UTM.get(spec.source, ("", "", ""))
        rate = ""
        if spec.status in ("contacted", "not_contacted", "lost", "unqualified"):
            rate = rng.choice(["hot", "warm", "warm", "cold", "cold", ""])
        elif spec.status == "qualified":
            rate = rng.choice(["hot", "hot", "warm"])
        elif spec.status == "new" and spec.inbound:
            rate = rng.choice(["warm", "cold", "", "", ""])
        has_site = bool(p.company) and rng.random() < 0.6
        data: dict[str, Any] = {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "company": p.company,
            "job_title": p.job_title,
            "email": p.email,
            "phone": p.phone,
            "website": f"https://www.{p.domain}{DEMO_EMAIL_TLD}" if has_site else "",
            "country": p.country,
            "region": p.region,
            "source": source,
            "utm_source": utm_source,
            "utm_medium": utm_medium,
            "utm_campaign": utm_campaign,
            "rate": rate,
            "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.2 else "",
        }
        if spec.source in ("Web form", "Campaign") and rng.random() < 0.7:
            data["marketing_consent"] = True
            data["consent_source"] = "Website form" if spec.source == "Web form" else "Webinar"
        return data

    def creation(self, spec: Spec) -> tuple[User, User | None, list[Tag]]:
        """Who typed the lead in, whom they gave it to at once, and its first tags."""
        cast, rng = self.cast, self.rng
        owner = cast.owner(spec.owner)
        wanted = []
        if spec.source == "Referral":
            wanted.append("Referral")
        if rng.random() < 0.06:
            wanted.append("Partner")
        if spec.status in ("contacted", "qualified") and rng.random() < 0.12:
            wanted.append("Priority")
        tags = [self.tags[name] for name in wanted if name in self.tags]
        if spec.inbound and spec.source in CREATED_BY_ADMIN:
            return cast.admin, None, tags  # into the pool; assigned or claimed later
        if spec.inbound:
            return cast.manager, owner, tags  # the manager hands it out as they type it in
        if owner is None or owner == cast.manager:
            return cast.manager, owner, tags
        return owner, None, tags  # a rep's own lead: reps own what they create

    def story(self, spec: Spec, due: datetime | None) -> list[Step]:
        """The steps after creation, in order."""
        cast, rng = self.cast, self.rng
        p = spec.who
        owner = cast.owner(spec.owner)
        actor = owner or cast.manager  # the pool is worked by the manager
        status = spec.status
        steps: list[Step] = []
        if spec.inbound and spec.source in CREATED_BY_ADMIN and owner is not None:
            steps.append(self.handover(owner))

        if status == "new":
            if rng.random() < 0.1:
                steps.append(self.note(actor, LeadNote.Kind.NOTE, p))
        elif status == "not_contacted":
            steps.append(self.plain(actor, rng.choice(ATTEMPT_NOTES)))
            steps.append(self.status(actor, "not_contacted"))
        elif status in ("junk", "canceled"):
            if status == "canceled" and owner is not None and rng.random() < 0.25:
                steps.append(self.contact(actor, p))
            note = spec.close_note or rng.choice(CLOSE_NOTES[status])
            steps.append(self.status(actor, status, note=note))
        elif owner is None:  # a pool lead nobody could reach
            steps.append(self.plain(actor, rng.choice(ATTEMPT_NOTES)))
            steps.append(self.status(actor, status, note="", reason="No response"))
        else:  # an owned lead: contacted, qualified, unqualified or lost
            if spec.via_not_contacted:
                steps.append(self.plain(actor, rng.choice(ATTEMPT_NOTES)))
                steps.append(self.status(actor, "not_contacted"))
                steps.append(self.plain(actor, rng.choice(ATTEMPT_NOTES)))
                steps.append(self.note(actor, LeadNote.Kind.CALL, p))
                steps.append(self.status(actor, "contacted", note="Reached them at last."))
            else:
                steps.append(self.contact(actor, p))
            if spec.reopened:
                reason = rng.choice(["No response", "Bad timing"])
                steps.append(self.status(actor, "lost", reason=reason))
                steps.append(self.status(cast.manager, "contacted", rng.choice(REOPEN_NOTES)))
                steps.append(self.contact(actor, p))
            more = rng.choices([0, 1, 2], weights=[80, 17, 3])[0]
            steps.extend(self.contact(actor, p) for _ in range(more))
            if rng.random() < 0.1:
                steps.append(self.note(actor, LeadNote.Kind.NOTE, p))
            if owner != cast.manager and rng.random() < 0.06:
                steps.append(self.plain(cast.manager, rng.choice(COACHING_NOTES)))
            goes_qualified = status == "qualified" or (status == "lost" and rng.random() < 0.2)
            if goes_qualified:
                steps.append(self.bant(actor))
                # Qualifying needs a next action; a qualified lead keeps its final one.
                final = due if status == "qualified" else None
                steps.append(self.next_action(actor, rng.choice(QUALIFIED_ACTIONS), final))
                steps.append(self.status(actor, "qualified"))
                if rng.random() < 0.2:
                    steps.append(self.note(actor, LeadNote.Kind.MEETING, p))
            if status in ("unqualified", "lost"):
                reason = rng.choice(LOST_REASONS[status])
                note = rng.choice(CLOSE_NOTES[status])
                steps.append(self.status(actor, status, note=note, reason=reason))
                if goes_qualified:
                    steps.append(self.next_action(actor, ""))  # closed: nothing left to do
                if reason == "Bad timing":
                    steps.append(self.tag(actor, "Reconnect in Q3", "Not now"))
                elif reason == "No budget":
                    steps.append(self.tag(actor, "Budget issue"))

        if owner is not None and status in ("new", "not_contacted", "contacted") and due:
            steps.append(self.next_action(actor, rng.choice(NEXT_ACTIONS), due))
        return steps

    def plan(self, spec: Spec, current: datetime) -> LeadPlan:
        """Everything about the lead but the writes: who makes it, its fields, its story
        and when each step happens."""
        p = spec.who
        owner = self.cast.owner(spec.owner)
        due = _due(spec, owner, self.clock, current) if owner is not None else None
        creator, given_to, tags = self.creation(spec)
        data = self.fields(spec, p)
        steps = self.story(spec, due)
        worker = owner or self.cast.manager
        tz = zoneinfo.ZoneInfo(worker.timezone or "UTC")
        moments = _moments(spec, len(steps) + 1, due, tz, self.clock, current)
        if data.get("marketing_consent"):
            data["consent_at"] = moments[0]
        return LeadPlan(spec, creator, given_to, tags, data, steps, moments)

    def tell(self, spec: Spec, current: datetime) -> tuple[Lead, Steps]:
        """Create the lead and play its story; returns it with when each step ran."""
        plan = self.plan(spec, current)
        started = [now()]
        lead = services.lead_create(
            actor=plan.creator, owner=plan.given_to, tags=plan.tags, **plan.data
        )
        for step, moment in zip(plan.steps, plan.moments[1:], strict=True):
            started.append(now())
            step(lead, moment)
        return lead, list(zip(started, plan.moments, strict=True))


@dataclass
class LeadPlan:
    spec: Spec
    creator: User
    given_to: User | None
    tags: list[Tag]
    data: dict[str, Any]
    steps: list[Step]
    moments: list[datetime]


def storyteller(cast: Cast) -> tuple[list[Spec], Storyteller]:
    """The demo's specs with their personas, and the storyteller for them: choices from
    ``random.Random(SEED)``, timing from ``random.Random(SEED + 1)``."""
    rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
    specs = _specs(rng)
    _add_personas(specs, rng)
    return specs, Storyteller(cast, rng, random.Random(SEED + 1))  # noqa: S311


def _ensure_choices() -> None:
    """Sources, lost reasons and tags come from migration 0002; put them back if emptied
    (a test database flush removes them)."""
    defaults = import_module("leads.migrations.0002_default_choices")
    if not Source.objects.exists():
        for position, name in enumerate(defaults.SOURCES):
            Source.objects.get_or_create(name=name, defaults={"position": position})
    if not LostReason.objects.exists():
        for position, name in enumerate(defaults.LOST_REASONS):
            LostReason.objects.get_or_create(name=name, defaults={"position": position})
    if not Tag.objects.exists():
        for name in defaults.TAGS:
            Tag.objects.get_or_create(name=name)


def demo_leads_exist() -> bool:
    return Lead.objects.filter(email__endswith=DEMO_EMAIL_TLD).exists()


@transaction.atomic
def seed_leads(*, admin: User, manager: User, rep1: User, rep2: User) -> int:
    """Create the demo leads unless they are already there. Returns how many were made."""
    if demo_leads_exist():
        return 0
    _ensure_choices()
    specs, teller = storyteller(Cast(admin=admin, manager=manager, rep1=rep1, rep2=rep2))
    current = now()
    history: dict[int, Steps] = {}
    for spec in specs:
        lead, steps = teller.tell(spec, current)
        history[lead.pk] = steps
    _backdate(history)
    _response_times(list(history), current)
    return len(history)
