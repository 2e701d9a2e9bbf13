"""A CSV or XLSX file as numbered records, streamed: memory stays flat in the file's size.

CSV: the encoding is detected on the first 64 KiB (a UTF-8 byte-order mark, valid UTF-8,
else charset-normalizer's best guess, Windows-1252 when it has none), the delimiter
sniffed (comma, semicolon, tab), quoted fields may hold newlines. XLSX: the first sheet,
read by openpyxl in read-only mode (row by row from the zip). In both, blank and
delimiter-only lines are skipped and not counted: record N is the N-th non-blank record
after the header. Cells are text; a formula in an XLSX cell is its text (``=SUM(A1)``),
never a computed value, and nothing in a cell is ever evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from charset_normalizer import from_bytes

SAMPLE_BYTES = 64 * 1024
MAX_CELL_CHARS = 100_000
# The cells of one record beyond this are ignored (a runaway line, not a lead).
MAX_COLUMNS = 200
DELIMITERS = ",;\t"

FILE_EMPTY = "The file is empty."
FILE_NO_HEADER = "The file has no header row: its first line should name the columns."
FILE_NOT_XLSX = "The file could not be read as an Excel workbook (.xlsx): {error}"
FILE_BAD_CSV = "Record {row} could not be read: {error}"
FILE_XLS = "Old Excel files (.xls) cannot be read: save it as .xlsx or CSV and upload that."

csv.field_size_limit(MAX_CELL_CHARS)


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why, for the person."""


class CountingReader(io.RawIOBase):
    """A binary stream that remembers the bytes it has already handed out, after
    ``prefix`` (the sample read to detect the encoding)."""

    def __init__(self, stream: IO[bytes], prefix: bytes = b"") -> None:
        self.stream = stream
        self.prefix = prefix
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self.prefix:
            data, self.prefix = self.prefix[:size], self.prefix[size:]
        else:
            data = self.stream.read(size)
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


@dataclass
class Table:
    headers: list[str]
    records: Iterator[tuple[int, list[str]]]
    # How far through the file the reading is, from 0 to 1.
    progress: Callable[[], float]
    kind: str
    encoding: str = ""
    delimiter: str = ""


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A multibyte character may be cut at the sample's end.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample[:SAMPLE_BYTES]).best()
    encoding = (best.encoding if best is not None else "") or "cp1252"
    # Latin-1 is what a detector says for Western text; Windows-1252 reads the same
    # letters and also the curly quotes and € that Excel writes.
    if encoding.replace("-", "_").lower() in ("latin_1", "iso8859_1", "ascii"):
        return "cp1252"
    return encoding


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip(" ,;\t")]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0]
        return max(DELIMITERS, key=lambda d: (header.count(d), d == ","))


def _blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _clean(cells: list[str]) -> list[str]:
    return [cell.replace("\x00", "") for cell in cells[:MAX_COLUMNS]]


def _numbered(rows: Iterator[list[str]]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (the first non-blank record) and the records after it, numbered."""
    for first in rows:
        if not _blank(first):
            headers = [cell.strip() for cell in _clean(first)]
            break
    else:
        raise ImportFileError(FILE_NO_HEADER)

    def records() -> Iterator[tuple[int, list[str]]]:
        number = 0
        for cells in rows:
            if _blank(cells):
                continue
            number += 1
            yield number, _clean(cells)

    return headers, records()


def read_csv(stream: IO[bytes], size: int) -> Table:
    sample = stream.read(SAMPLE_BYTES)
    if not sample.strip():
        raise ImportFileError(FILE_EMPTY)
    encoding = detect_encoding(sample)
    raw = CountingReader(stream, sample)
    text = io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors="replace", newline="")
    delimiter = sniff_delimiter(sample.decode(encoding, errors="replace"))
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)

    def rows() -> Iterator[list[str]]:
        try:
            yield from reader
        except csv.Error as error:
            raise ImportFileError(FILE_BAD_CSV.format(row=reader.line_num, error=error)) from error

    headers, records = _numbered(rows())
    return Table(
        headers=headers,
        records=records,
        progress=lambda: min(1.0, raw.consumed / size) if size else 0.0,
        kind="csv",
        encoding=encoding,
        delimiter=delimiter,
    )


def cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds").replace(" 00:00:00", "")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def read_xlsx(stream: IO[bytes], size: int) -> Table:
    from openpyxl import load_workbook

    if not hasattr(stream, "seek") or not stream.seekable():
        # A zip is read from its end: spool it to disk (never memory) first.
        spooled = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the workbook's reader)
        while block := stream.read(1024 * 1024):
            spooled.write(block)
        spooled.seek(0)
        stream = spooled
    try:
        book = load_workbook(stream, read_only=True, data_only=False)
        sheet = book.worksheets[0]
        total = sheet.max_row or 0
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(FILE_NOT_XLSX.format(error=type(error).__name__)) from error
    done = [0]

    def rows() -> Iterator[list[str]]:
        try:
            for values in sheet.iter_rows(values_only=True):
                done[0] += 1
                yield [cell_text(value) for value in values]
        except Exception as error:
            raise ImportFileError(FILE_NOT_XLSX.format(error=type(error).__name__)) from error
        finally:
            book.close()

    headers, records = _numbered(rows())
    while headers and not headers[-1]:
        headers.pop()
    return Table(
        headers=headers,
        records=records,
        progress=lambda: min(1.0, done[0] / total) if total else 0.0,
        kind="xlsx",
    )


def kind_of(name: str, first_bytes: bytes) -> str:
    lowered = name.lower()
    if lowered.endswith(".xls") or first_bytes.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(FILE_XLS)
    if lowered.endswith((".xlsx", ".xlsm")) or first_bytes.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"


def open_table(stream: IO[bytes], *, name: str, size: int, kind: str = "") -> Table:
    """The file's header and records. ``kind`` ("csv"/"xlsx") if known, else guessed
    from the name and the first bytes (a zip is a workbook)."""
    if not kind:
        buffered = io.BufferedReader(CountingReader(stream), buffer_size=SAMPLE_BYTES)
        kind = kind_of(name, buffered.peek(8)[:8])
        stream = buffered
    if kind == "xlsx":
        return read_xlsx(stream, size)
    return read_csv(stream, size)
