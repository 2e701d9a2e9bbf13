"""Which column is which lead field, and what each cell's value means.

Guesses come from the headers of our own export and of the exports people bring from
other CRMs: Salesforce (report exports' labels, the data export's API field names such as
``FirstName`` or ``LeadSource``, the import wizard's labels), HubSpot, Zoho CRM and
Pipedrive. Headers are compared letters and digits only, ignoring case ("E-Mail",
"email", "EMAIL_ADDRESS" all read ``email``/``emailaddress``).

Values: statuses, ratings, sources and lost reasons by name or synonym (an unknown one
becomes the import's default and is reported); owners by email; dates in ISO,
``MM/DD/YYYY`` and ``DD.MM.YYYY`` (with or without a time, read in the importing person's
timezone); numbers with either decimal separator; booleans as 0/1, true/false, yes/no,
ja/nein. A cell our own export neutralised (``'=…``, ``'+44…``) is read back as it was.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django_countries import countries

from crm.validators import validate_date_bounds
from leads.models import Lead
from leads.phones import MAX_DIGITS, normalize_phone

IGNORE = ""
# The fields a column can go to, in the order the mapping step lists them.
FIELDS: list[tuple[str, str]] = [
    ("number", "Lead number"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("full_name", "Full name (split into first and last)"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("website", "Website"),
    ("country", "Country"),
    ("region", "Region / state"),
    ("source", "Source"),
    ("status", "Status"),
    ("rate", "Rate (hot / warm / cold)"),
    ("owner", "Owner (email)"),
    ("lost_reason", "Lost reason"),
    ("next_action", "Next action"),
    ("next_action_due", "Next action due"),
    ("estimated_value", "Estimated value"),
    ("budget", "Budget"),
    ("authority", "Authority"),
    ("need", "Need"),
    ("timeline", "Timeline"),
    ("description", "Description / notes"),
    ("utm_source", "UTM source"),
    ("utm_medium", "UTM medium"),
    ("utm_campaign", "UTM campaign"),
    ("marketing_consent", "Marketing consent"),
    ("consent_at", "Consent given at"),
]
FIELD_LABELS = dict(FIELDS)

_SYNONYMS: dict[str, list[str]] = {
    "number": ["Lead number", "Lead No", "Lead #", "Lead Number"],
    "first_name": [
        "First name",
        "FirstName",
        "First",
        "Given name",
        "Vorname",
        "Person - First name",
        "Contact First Name",
    ],
    "last_name": [
        "Last name",
        "LastName",
        "Surname",
        "Family name",
        "Nachname",
        "Person - Last name",
        "Contact Last Name",
    ],
    "full_name": ["Name", "Full name", "Contact name", "Person - Name", "Person name", "Lead Name"],
    "company": [
        "Company",
        "Company name",
        "Company / Account",
        "Account name",
        "Organization",
        "Organisation",
        "Organization - Name",
        "Organization name",
        "Firma",
        "Associated Company",
    ],
    "job_title": [
        "Job title",
        "Title",
        "JobTitle",
        "Designation",
        "Position",
        "Person - Job title",
    ],
    "email": [
        "Email",
        "E-mail",
        "Email address",
        "Primary email",
        "Work email",
        "Person - Email",
        "Person - Email - Work",
        "Email - Work",
        "EmailAddress",
    ],
    "phone": [
        "Phone",
        "Phone number",
        "Telephone",
        "Tel",
        "Mobile",
        "MobilePhone",
        "Mobile phone",
        "Mobile phone number",
        "Business phone",
        "Person - Phone",
        "Person - Phone - Work",
        "Phone - Work",
        "Telefon",
    ],
    "website": ["Website", "Web site", "Website URL", "URL", "Company Domain Name", "Domain"],
    "country": ["Country", "Country/Region", "Country code", "Land", "Mailing Country"],
    "region": ["Region", "State", "State/Province", "State/Region", "Province", "Mailing State"],
    "source": [
        "Source",
        "Lead source",
        "LeadSource",
        "Original source",
        "Lead - Source",
        "Source name",
    ],
    "status": ["Status", "Lead status", "hs_lead_status", "Lead - Status"],
    "rate": ["Rate", "Rating", "Lead rating"],
    "owner": [
        "Owner",
        "Owner email",
        "OwnerId",
        "Owner Id",
        "Lead owner",
        "Lead owner email",
        "Contact owner",
        "HubSpot owner",
        "Lead - Owner",
        "Assigned to",
    ],
    "lost_reason": ["Lost reason", "Reason lost", "Unqualified reason", "Disqualification reason"],
    "next_action": ["Next action", "Next step", "NextStep"],
    "next_action_due": [
        "Next action due",
        "Next step date",
        "Next activity date",
        "Next action date",
    ],
    "estimated_value": [
        "Estimated value",
        "Value",
        "Lead value",
        "Lead - Value",
        "Deal value",
        "Amount",
        "Expected revenue",
    ],
    "budget": ["Budget"],
    "authority": ["Authority"],
    "need": ["Need"],
    "timeline": ["Timeline"],
    "description": [
        "Description",
        "Notes",
        "Note",
        "Comments",
        "Message",
        "Lead description",
    ],
    "utm_source": ["UTM source", "utm_source"],
    "utm_medium": ["UTM medium", "utm_medium"],
    "utm_campaign": ["UTM campaign", "utm_campaign", "Campaign", "Campaign name"],
    "marketing_consent": [
        "Marketing consent",
        "Consent",
        "Opt in",
        "Email opt in",
        "Opted in",
        "Marketing opt in",
    ],
    "consent_at": ["Consent date", "Consent at", "Consent given at", "Opt in date"],
}


def header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


HEADER_FIELDS: dict[str, str] = {
    header_key(name): field_name for field_name, names in _SYNONYMS.items() for name in names
}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each column's field ("" = not imported); a field goes to its first column only."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header in headers:
        guess = HEADER_FIELDS.get(header_key(header), IGNORE)
        if guess and guess not in taken and not (guess == "full_name" and _has_names(taken)):
            taken.add(guess)
            mapping[header] = guess
        else:
            mapping[header] = IGNORE
    # "Name" beside "First name" and "Last name" is the record's title, not the person.
    if {"first_name", "last_name"} & taken and "full_name" in taken:
        mapping = {h: (IGNORE if f == "full_name" else f) for h, f in mapping.items()}
    return mapping


def _has_names(taken: set[str]) -> bool:
    return bool({"first_name", "last_name"} & taken)


def clean_mapping(headers: list[str], mapping: dict[str, Any]) -> dict[str, str]:
    """A mapping from a form or a JSON file, kept to the file's columns and known fields."""
    result = {}
    taken: set[str] = set()
    for header in headers:
        wanted = mapping.get(header, IGNORE)
        wanted = wanted if isinstance(wanted, str) and wanted in FIELD_LABELS else IGNORE
        if wanted and wanted in taken:
            wanted = IGNORE
        taken.add(wanted)
        result[header] = wanted
    return result


# --- Values ---------------------------------------------------------------------------------

STATUS_SYNONYMS = {
    "open": "new",
    "opennotcontacted": "new",
    "notcontacted": "not_contacted",
    "attemptedtocontact": "not_contacted",
    "attempted": "not_contacted",
    "noanswer": "not_contacted",
    "workingcontacted": "contacted",
    "working": "contacted",
    "inprogress": "contacted",
    "connected": "contacted",
    "contactinfuture": "contacted",
    "prequalified": "contacted",
    "openingdeal": "qualified",
    "opendeal": "qualified",
    "salesqualified": "qualified",
    "sql": "qualified",
    "notqualified": "unqualified",
    "closednotconverted": "unqualified",
    "disqualified": "unqualified",
    "closedconverted": "converted",
    "lostlead": "lost",
    "closedlost": "lost",
    "junklead": "junk",
    "spam": "junk",
    "cancelled": "canceled",
}
RATE_SYNONYMS = {
    "a": "hot",
    "b": "warm",
    "c": "cold",
    "high": "hot",
    "medium": "warm",
    "low": "cold",
}
SOURCE_SYNONYMS = {
    "web": "Web form",
    "website": "Web form",
    "webform": "Web form",
    "form": "Web form",
    "organicsearch": "Web form",
    "directtraffic": "Web form",
    "inboundemail": "Email",
    "emailmarketing": "Email",
    "wordofmouth": "Referral",
    "employeereferral": "Referral",
    "partnerreferral": "Referral",
    "externalreferral": "Referral",
    "partner": "Referral",
    "coldcalling": "Cold call",
    "phone": "Cold call",
    "phoneinquiry": "Cold call",
    "advertisement": "Campaign",
    "ads": "Campaign",
    "paidsearch": "Campaign",
    "paidsocial": "Campaign",
    "googleadwords": "Campaign",
    "socialmedia": "Social",
    "organicsocial": "Social",
    "facebook": "Social",
    "linkedin": "Social",
    "twitter": "Social",
    "tradeshow": "Event",
    "seminar": "Event",
    "webinar": "Event",
    "conference": "Event",
    "offlinesources": "Manual",
    "other": "Manual",
}
TRUE_WORDS = {"1", "true", "yes", "y", "ja", "j", "x", "wahr", "oui", "si", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "nein", "falsch", "non", "off", ""}
DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
]
NEUTRALISED = re.compile(r"^'[=+\-@\t\r]")
EMAIL_VALIDATOR = EmailValidator()
URL_VALIDATOR = URLValidator()
# The validator's own patterns, compiled here rather than behind its lazy objects (whose
# indirection cost a row more than the match): what they pass it passes, and anything else
# is left to the validator itself.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
NON_DIGITS = re.compile(r"\D")

# Messages a rejected row or a warning carries (the tests assert the exact text).
NEEDS_NAME = "It has no name: a lead needs a first or a last name."
NEEDS_CONTACT = "It has no email address and no phone number."
BAD_EMAIL = "“{value}” is not an email address."
PHONE_TOO_LONG = "The phone number “{value}” has more than 15 digits."
TOO_LONG = "{label} is longer than {limit} characters."
BAD_DATE = "{label}: “{value}” is not a date (use YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)."
DATE_OUT_OF_RANGE = "{label}: {value} is out of range."
BAD_NUMBER = "{label}: “{value}” is not a number."
NUMBER_TOO_BIG = "{label}: {value} is too large."
BAD_WEBSITE = "Website: “{value}” is not a web address."
NEXT_ACTION_NEEDS_DUE = "The next action has no due date."
DUE_NEEDS_NEXT_ACTION = "The next action due date has no next action."
CONVERTED_REFUSED = "A lead becomes Converted only through conversion; import it as Qualified."
NEEDS_REASON = "A {status} lead needs a lost reason (a Lost reason column with a known reason)."
QUALIFIED_NEEDS_NEXT = "A qualified lead needs a next action with a due date."
QUALIFIED_NEEDS_OWNER = "A qualified lead needs an owner (an Owner column)."
OWNER_NOT_ALLOWED = "{email} is not someone you may give leads to."
UNKNOWN_STATUS = "Status “{value}” is unknown: imported as {default}."
UNKNOWN_RATE = "Rate “{value}” is unknown: left empty."
UNKNOWN_SOURCE = "Source “{value}” is unknown: imported as {default}."
UNKNOWN_OWNER = "Owner “{value}” is not a user here: the lead is assigned as if it had none."
UNKNOWN_COUNTRY = "Country “{value}” is unknown: left empty."
UNKNOWN_CHOICE = "{label} “{value}” is unknown: left empty."
UNKNOWN_BOOLEAN = "{label} “{value}” is not yes or no: imported as no."
UNKNOWN_REASON = "Lost reason “{value}” is unknown."


class RowRejected(Exception):
    pass


def _key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def parse_decimal(text: str) -> Decimal:
    """ "1,234.50", "1.234,50", "1 234,5", "€ 1200" → a Decimal; ValueError otherwise."""
    cleaned = re.sub(r"[^\d,.\-]", "", text)
    if not re.search(r"\d", cleaned):
        raise ValueError(text)
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif cleaned.count(",") == 1 and len(cleaned.rsplit(",", 1)[1]) != 3:
        decimal_mark = ","
    elif cleaned.count(".") == 1 and len(cleaned.rsplit(".", 1)[1]) != 3:
        decimal_mark = "."
    elif cleaned.count(",") + cleaned.count(".") == 1:
        # "1,500" or "1.500": a thousands separator, as people write whole amounts.
        decimal_mark = ""
    else:
        decimal_mark = ""
    thousands = {",", "."} - {decimal_mark}
    for mark in thousands:
        cleaned = cleaned.replace(mark, "")
    if decimal_mark:
        cleaned = cleaned.replace(decimal_mark, ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(text) from error


def parse_datetime(text: str, tz: zoneinfo.ZoneInfo) -> datetime:
    text = " ".join(text.strip().split())
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)  # noqa: DTZ007  (made aware below)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def parse_bool(text: str) -> bool | None:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _choice_lookup(choices: list[tuple[str, str]]) -> dict[str, str]:
    lookup = {}
    for value, label in choices:
        lookup[_key(value)] = value
        lookup[_key(label)] = value
    return lookup


STATUS_LOOKUP = {**_choice_lookup(Lead.Status.choices), **STATUS_SYNONYMS}
RATE_LOOKUP = {**_choice_lookup(Lead.Rate.choices), **RATE_SYNONYMS}
AUTHORITY_LOOKUP = _choice_lookup(Lead.Authority.choices)
TIMELINE_LOOKUP = {
    **_choice_lookup(Lead.Timeline.choices),
    "thismonth": "now",
    "quarter": "quarter",
    "thisyear": "year",
    "unknown": "later",
}
CHAR_LIMITS: dict[str, int] = {
    f.name: int(f.max_length or 0)
    for f in Lead._meta.concrete_fields
    if getattr(f, "max_length", None) and f.get_internal_type() in ("CharField", "EmailField")
}
TEXT_FIELDS = [
    "number",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "region",
    "need",
    "description",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "next_action",
]


@functools.lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """An ISO code from a code or a name. A file names a few countries many times, and
    django-countries rebuilds its list for each lookup: remembered per process."""
    value = text.strip()
    if not value:
        return ""
    if len(value) == 2 and value.upper() in countries:
        return value.upper()
    code = countries.alpha2(value) or countries.by_name(value)
    if not code and len(value) == 3:
        code = countries.alpha2(value.upper())
    return code or ""


def normalize_website(text: str) -> str:
    value = text.strip()
    if value and not re.match(r"^[a-z][a-z0-9+.\-]*://", value, re.I):
        value = "https://" + value
    return value


@dataclass
class Context:
    """What translating a row needs, loaded once per import."""

    tz: zoneinfo.ZoneInfo
    default_region: str
    default_status: str
    sources: dict[str, int]  # lower-cased letters → id
    source_names: dict[int, str]
    default_source_id: int | None
    lost_reasons: dict[str, int]
    # Users by email: those the importing person may give leads to, and everyone else.
    assignable: dict[str, int]
    known_users: set[str]
    # A rep imports as themself: every lead is theirs.
    own_only_owner: int | None


@dataclass
class Translated:
    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def valid_email(email: str) -> bool:
    user, at, domain = email.rpartition("@")
    if at and len(email) <= 320 and _EMAIL_USER.match(user) and _EMAIL_DOMAIN.match(domain):
        return True
    try:
        EMAIL_VALIDATOR(email)
    except ValidationError:
        return False
    return True


def _cells(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    """The mapped cells by field, trimmed, a formula's neutralising quote taken off."""
    count = len(cells)
    get = {}
    for name, index in columns.items():
        value = cells[index].strip() if index < count else ""
        if value[:1] == "'" and NEUTRALISED.match(value):
            value = value[1:]
        get[name] = value
    return get


def translate(cells: list[str], columns: dict[str, int], ctx: Context) -> Translated:
    """One record as lead column values; raises RowRejected with the reason."""
    get = _cells(cells, columns)
    out: dict[str, Any] = {}
    warnings: list[str] = []
    for name in TEXT_FIELDS:
        if name in get:
            value = get[name]
            limit = CHAR_LIMITS.get(name)
            if limit and len(value) > limit:
                raise RowRejected(TOO_LONG.format(label=FIELD_LABELS[name], limit=limit))
            out[name] = value
    full = get.get("full_name", "")
    if full and not out.get("first_name") and not out.get("last_name"):
        first, _, last = full.rpartition(" ")
        out["first_name"], out["last_name"] = (first, last) if first else ("", last)
        for name in ("first_name", "last_name"):
            if len(out[name]) > CHAR_LIMITS[name]:
                raise RowRejected(TOO_LONG.format(label=FIELD_LABELS[name], limit=100))
    if not out.get("first_name") and not out.get("last_name"):
        raise RowRejected(NEEDS_NAME)

    email = get.get("email", "").lower()
    if email:
        if len(email) > 254:
            raise RowRejected(TOO_LONG.format(label="Email", limit=254))
        if not valid_email(email):
            raise RowRejected(BAD_EMAIL.format(value=email[:80]))
    phone = get.get("phone", "")
    if len(phone) > CHAR_LIMITS["phone"]:
        raise RowRejected(TOO_LONG.format(label="Phone", limit=CHAR_LIMITS["phone"]))
    if phone and len(NON_DIGITS.sub("", phone)) > MAX_DIGITS:
        raise RowRejected(PHONE_TOO_LONG.format(value=phone))
    if not email and not phone:
        raise RowRejected(NEEDS_CONTACT)
    out["email"], out["phone"] = email, phone

    country = ""
    if get.get("country"):
        country = country_code(get["country"])
        if not country:
            warnings.append(UNKNOWN_COUNTRY.format(value=get["country"][:60]))
    out["country"] = country
    out["phone_normalized"] = normalize_phone(phone, country or ctx.default_region)

    if get.get("website"):
        website = normalize_website(get["website"])
        if len(website) > CHAR_LIMITS["website"]:
            raise RowRejected(TOO_LONG.format(label="Website", limit=CHAR_LIMITS["website"]))
        try:
            URL_VALIDATOR(website)
        except ValidationError:
            raise RowRejected(BAD_WEBSITE.format(value=get["website"][:80])) from None
        out["website"] = website

    status = ctx.default_status
    if get.get("status"):
        found = STATUS_LOOKUP.get(_key(get["status"]))
        if found is None:
            warnings.append(
                UNKNOWN_STATUS.format(
                    value=get["status"][:60], default=Lead.Status(ctx.default_status).label
                )
            )
        else:
            status = found
    if status == Lead.Status.CONVERTED:
        raise RowRejected(CONVERTED_REFUSED)
    out["status"] = status

    if get.get("rate"):
        rate = RATE_LOOKUP.get(_key(get["rate"]))
        if rate is None:
            warnings.append(UNKNOWN_RATE.format(value=get["rate"][:60]))
        out["rate"] = rate or ""

    source_id = ctx.default_source_id
    if get.get("source"):
        key = _key(get["source"])
        found_id = ctx.sources.get(key) or ctx.sources.get(_key(SOURCE_SYNONYMS.get(key, "")))
        if found_id is None:
            default = ctx.source_names.get(ctx.default_source_id or 0, "none")
            warnings.append(UNKNOWN_SOURCE.format(value=get["source"][:60], default=default))
        else:
            source_id = found_id
    out["source_id"] = source_id

    reason_id = None
    if get.get("lost_reason"):
        reason_id = ctx.lost_reasons.get(_key(get["lost_reason"]))
        if reason_id is None and status in Lead.REASON_STATUSES:
            raise RowRejected(UNKNOWN_REASON.format(value=get["lost_reason"][:60]))
    if status in Lead.REASON_STATUSES:
        if reason_id is None:
            raise RowRejected(NEEDS_REASON.format(status=Lead.Status(status).label))
        out["lost_reason_id"] = reason_id

    owner_id = ctx.own_only_owner
    owner_text = get.get("owner", "").lower()
    if owner_text:
        if owner_text in ctx.assignable:
            owner_id = ctx.assignable[owner_text]
        elif owner_text in ctx.known_users:
            raise RowRejected(OWNER_NOT_ALLOWED.format(email=owner_text))
        else:
            warnings.append(UNKNOWN_OWNER.format(value=get["owner"][:80]))
    out["owner_id"] = owner_id

    for name in ("estimated_value", "budget"):
        if get.get(name):
            try:
                amount = parse_decimal(get[name]).quantize(Decimal("0.01"))
            except (ValueError, InvalidOperation):
                raise RowRejected(
                    BAD_NUMBER.format(label=FIELD_LABELS[name], value=get[name][:40])
                ) from None
            if abs(amount) >= Decimal(10) ** 10 or amount < 0:
                raise RowRejected(
                    NUMBER_TOO_BIG.format(label=FIELD_LABELS[name], value=get[name][:40])
                )
            out[name] = amount

    for name in ("next_action_due", "consent_at"):
        if get.get(name):
            try:
                moment = parse_datetime(get[name], ctx.tz)
                validate_date_bounds(moment)
            except ValueError:
                raise RowRejected(
                    BAD_DATE.format(label=FIELD_LABELS[name], value=get[name][:40])
                ) from None
            except (ValidationError, OverflowError):
                raise RowRejected(
                    DATE_OUT_OF_RANGE.format(label=FIELD_LABELS[name], value=get[name][:40])
                ) from None
            out[name] = moment
    if "next_action" in out or "next_action_due" in out:
        if out.get("next_action") and not out.get("next_action_due"):
            raise RowRejected(NEXT_ACTION_NEEDS_DUE)
        if out.get("next_action_due") and not out.get("next_action"):
            raise RowRejected(DUE_NEEDS_NEXT_ACTION)
    if status == Lead.Status.QUALIFIED:
        if not out.get("next_action"):
            raise RowRejected(QUALIFIED_NEEDS_NEXT)
        if owner_id is None:
            raise RowRejected(QUALIFIED_NEEDS_OWNER)

    for name, lookup in (("authority", AUTHORITY_LOOKUP), ("timeline", TIMELINE_LOOKUP)):
        if get.get(name):
            choice = lookup.get(_key(get[name]))
            if choice is None:
                warnings.append(
                    UNKNOWN_CHOICE.format(label=FIELD_LABELS[name], value=get[name][:60])
                )
            out[name] = choice or ""

    if "marketing_consent" in get:
        consent = parse_bool(get["marketing_consent"])
        if consent is None:
            warnings.append(
                UNKNOWN_BOOLEAN.format(label="Marketing consent", value=get["marketing_consent"])
            )
        out["marketing_consent"] = bool(consent)
    return Translated(out, warnings)
