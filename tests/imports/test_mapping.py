"""Header guesses for each vendor's export, and value translation."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

import pytest

from leads.imports.mapping import guess_mapping, parse_bool, parse_datetime, parse_decimal

OUR_EXPORT = [
    "Lead number",
    "First name",
    "Last name",
    "Company",
    "Job title",
    "Email",
    "Phone",
    "Status",
    "Rate",
    "Owner",
    "Source",
    "Next action",
    "Next action due",
    "Estimated value",
    "Created",
]

VENDORS = {
    "ours": (
        OUR_EXPORT,
        {
            "Lead number": "number",
            "First name": "first_name",
            "Status": "status",
            "Rate": "rate",
            "Owner": "owner",
            "Next action due": "next_action_due",
            "Estimated value": "estimated_value",
            "Created": "",
        },
    ),
    "salesforce api": (
        [
            "Id",
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Company",
            "Title",
            "LeadSource",
            "Status",
            "Rating",
            "OwnerId",
            "Country",
            "State",
            "Website",
            "Description",
        ],
        {
            "Id": "",
            "FirstName": "first_name",
            "LastName": "last_name",
            "Title": "job_title",
            "LeadSource": "source",
            "Status": "status",
            "Rating": "rate",
            "OwnerId": "owner",
            "State": "region",
        },
    ),
    "salesforce report": (
        [
            "Lead Owner",
            "First Name",
            "Last Name",
            "Title",
            "Company / Account",
            "Email",
            "Phone",
            "Lead Source",
            "Lead Status",
            "Rating",
            "Create Date",
        ],
        {
            "Lead Owner": "owner",
            "Company / Account": "company",
            "Lead Source": "source",
            "Lead Status": "status",
            "Create Date": "",
        },
    ),
    "salesforce wizard": (
        [
            "Owner Email",
            "First Name",
            "Last Name",
            "Company",
            "Email",
            "Mobile Phone",
            "Lead Status",
        ],
        {"Owner Email": "owner", "Mobile Phone": "phone", "Lead Status": "status"},
    ),
    "hubspot": (
        [
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Company Name",
            "Job Title",
            "Lead Status",
            "Contact owner",
            "Country/Region",
            "State/Region",
            "Website URL",
            "Original Source",
        ],
        {
            "Record ID": "",
            "Phone Number": "phone",
            "Company Name": "company",
            "Contact owner": "owner",
            "Country/Region": "country",
            "State/Region": "region",
            "Website URL": "website",
            "Original Source": "source",
        },
    ),
    "zoho": (
        [
            "Lead Owner",
            "Company",
            "First Name",
            "Last Name",
            "Designation",
            "Email",
            "Phone",
            "Mobile",
            "Lead Source",
            "Lead Status",
            "Rating",
            "Description",
        ],
        {"Designation": "job_title", "Phone": "phone", "Mobile": "", "Rating": "rate"},
    ),
    "pipedrive": (
        [
            "Lead - Title",
            "Lead - Owner",
            "Lead - Value",
            "Person - Name",
            "Person - Email - Work",
            "Person - Phone - Work",
            "Organization - Name",
            "Lead - Source",
        ],
        {
            "Lead - Title": "",
            "Lead - Owner": "owner",
            "Lead - Value": "estimated_value",
            "Person - Name": "full_name",
            "Person - Email - Work": "email",
            "Person - Phone - Work": "phone",
            "Organization - Name": "company",
            "Lead - Source": "source",
        },
    ),
}


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_mapping_guesses(vendor):
    headers, expected = VENDORS[vendor]
    guessed = guess_mapping(headers)
    assert set(guessed) == set(headers)
    for header, field in expected.items():
        assert guessed[header] == field, header
    chosen = [field for field in guessed.values() if field]
    assert len(chosen) == len(set(chosen))  # each field from one column


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200", "1200"),
        ("1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1234,5", "1234.5"),
        ("€ 1 200", "1200"),
        ("1,500", "1500"),
        ("0.75", "0.75"),
    ],
)
def test_numbers_with_either_decimal_separator(text, expected):
    assert parse_decimal(text) == Decimal(expected)


def test_dates():
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    expected = datetime(2027, 1, 5, 0, 0, tzinfo=tz)
    for text in ("2027-01-05", "01/05/2027", "05.01.2027"):
        assert parse_datetime(text, tz) == expected
    assert parse_datetime("05.01.2027 14:30", tz) == datetime(2027, 1, 5, 14, 30, tzinfo=tz)
    assert parse_datetime("2027-01-05 14:30", tz).hour == 14
    assert parse_datetime("2027-01-05T14:30:00Z", tz).utcoffset().total_seconds() == 0
    with pytest.raises(ValueError, match="next week"):
        parse_datetime("next week", tz)


def test_booleans():
    assert [parse_bool(v) for v in ("1", "true", "Yes", "ja", "0", "no", "nein", "")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert parse_bool("maybe") is None
