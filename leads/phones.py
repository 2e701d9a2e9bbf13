"""Phone numbers are kept as typed and, for matching, in E.164 form."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

# E.164: a country code and a number of at most 15 digits together.
MAX_DIGITS = 15
PHONE_TOO_LONG = "A phone number has at most 15 digits."


def validate_phone(value: str) -> None:
    if len(re.sub(r"\D", "", value or "")) > MAX_DIGITS:
        raise ValidationError(PHONE_TOO_LONG, code="phone_too_long")


def normalize_phone(raw: str, country: str = "") -> str:
    """``+15550100`` for any way of writing the number; digits only if it can't be parsed;
    empty if it has more digits than any phone number (nothing to match it with)."""
    raw = (raw or "").strip()
    if not raw or len(re.sub(r"\D", "", raw)) > MAX_DIGITS:
        return ""
    region = (country or settings.PHONE_DEFAULT_REGION or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", raw)
    return f"+{digits}" if raw.startswith("+") else digits


def search_digits(term: str) -> str | None:
    """The digits to look for when a search term looks like a phone number."""
    if re.fullmatch(r"[\d\s()+.\-/]{5,}", term.strip()):
        digits = re.sub(r"\D", "", term)
        return digits if len(digits) >= 4 else None
    return None
