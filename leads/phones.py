"""Phone numbers are kept as typed and, for matching, in E.164 form."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings


def normalize_phone(raw: str, country: str = "") -> str:
    """``+15550100`` for any way of writing the number; digits only if it can't be parsed."""
    raw = (raw or "").strip()
    if not raw:
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
