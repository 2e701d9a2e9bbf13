"""Reading files: encodings, delimiters, quoting, blank lines, XLSX, formulas."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from leads.imports.parsing import FILE_NO_HEADER, ImportFileError, open_table
from tests.imports.helpers import csv_bytes


def table_of(content: bytes, name: str = "f.csv"):
    table = open_table(io.BytesIO(content), name=name, size=len(content))
    return table, list(table.records)


ROWS = [["First name", "Company"], ["Zoë", "Müller & Söhne"], ["José", "Café “Nord”"]]


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("cp1252", False)]
)
def test_encodings(encoding, bom):
    table, records = table_of(csv_bytes(ROWS, encoding=encoding, bom=bom))
    assert table.headers == ["First name", "Company"]
    assert records == [(1, ["Zoë", "Müller & Söhne"]), (2, ["José", "Café “Nord”"])]


def test_latin1_reads_as_windows_1252():
    content = "Name;Firma\nJürgen;Straße GmbH\n".encode("latin-1")
    table, records = table_of(content)
    assert table.delimiter == ";"
    assert records == [(1, ["Jürgen", "Straße GmbH"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_and_quoted_newlines(delimiter):
    rows = [["Name", "Notes", "Email"], ["Ann", "line one\nline two; with, all", "a@x.com"]]
    table, records = table_of(csv_bytes(rows, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert records == [(1, ["Ann", "line one\nline two; with, all", "a@x.com"])]


def test_blank_and_delimiter_only_lines_are_not_counted():
    content = b"\r\n\r\nName,Email\r\n,\r\nAnn,a@x.com\r\n\r\n , \r\nBob,b@x.com\r\n,,,\r\n"
    table, records = table_of(content)
    assert table.headers == ["Name", "Email"]
    assert records == [(1, ["Ann", "a@x.com"]), (2, ["Bob", "b@x.com"])]


def test_an_empty_file_is_refused():
    with pytest.raises(ImportFileError):
        table_of(b"")
    with pytest.raises(ImportFileError, match=FILE_NO_HEADER[:20]):
        table_of(b"\n,,\n\n")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_first_sheet_with_typed_cells_and_formulas_as_text():
    content = xlsx_bytes(
        [
            ["First name", "Value", "Due", "Company"],
            [
                "Ann",
                1200.0,
                datetime(2027, 1, 5, 10, 30),  # noqa: DTZ001  (Excel has no timezones)
                '=HYPERLINK("http://x")',
            ],
            [None, None, None, None],
            ["Bob", 3, None, "Beta"],
        ]
    )
    table, records = table_of(content, name="export.xlsx")
    assert table.kind == "xlsx"
    assert table.headers == ["First name", "Value", "Due", "Company"]
    assert records == [
        (1, ["Ann", "1200", "2027-01-05 10:30:00", '=HYPERLINK("http://x")']),
        (2, ["Bob", "3", "", "Beta"]),
    ]
    assert table.progress() == 1.0
