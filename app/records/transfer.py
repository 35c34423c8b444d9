"""Import and export of records as NDJSON or CSV, for operators moving data in bulk.

An import goes through the same ingestion as the API (same checks, same audit), in batches; each
refused line is reported with its line number and the reason.

Encodings: NDJSON is UTF-8. A CSV may also come from Chinese Excel, whose "CSV (逗号分隔)" is
GBK without a BOM: UTF-8 (with or without BOM) is tried first, then GB18030, a superset of GBK.
Exported CSV starts with a UTF-8 BOM, without which Excel reads UTF-8 as the local code page.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.records.lifecycle import as_pushed
from app.records.models import Record, RecordParty

CSV_COLUMNS = [
    "external_id",
    "domain",
    "list_type",
    "severity",
    "subject_kind",
    "subject_name",
    "subject_identifier_type",
    "subject_identifier",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_end",
    "visibility",
    # A court listing's ground (法释〔2017〕7号 第一条), which decides whether it has a fixed end.
    "listing_basis",
    # Court listings: the obligations and how far they are performed (法释〔2017〕7号 第六条（三）).
    "performance",
    # The notice served before a serious black listing (国办发〔2020〕49号; RecordIn.notice).
    "notice_document_no",
    "notice_served_on",
]
OPTIONAL_CSV_COLUMNS = (
    "publicity_end",
    "visibility",
    "listing_basis",
    "performance",
    "notice_document_no",
    "notice_served_on",
)

# What an export adds to each record, which the registry sets and an import leaves out.
EXPORT_ONLY = ("id", "agency", "status")

# Columns an importable CSV must name in its first line (the optional ones may be left out).
REQUIRED_CSV_COLUMNS = [column for column in CSV_COLUMNS if column not in OPTIONAL_CSV_COLUMNS]
EXCEL_HINT = 'save it from Excel as "CSV UTF-8" or "CSV (逗号分隔)" and import it again'


class TransferError(Exception):
    """The file as a whole cannot be imported; str() is one sentence an operator can act on."""


@dataclass(frozen=True)
class Unreadable:
    """A line that cannot be a record at all (not JSON, not an object); `detail` names the line."""

    detail: str


@dataclass(frozen=True)
class Broken:
    """Where a CSV breaks (a quote never closed): the last item read; the lines before it are
    records as usual, and nothing after it is read."""

    detail: str


def _first_unreadable_line(path: Path, encoding: str) -> tuple[int, str] | None:
    """(line number, why) of the first line `encoding` cannot decode; None if the whole file decodes.

    Line by line is exact: a newline byte is never part of a UTF-8 or GB18030 multi-byte sequence.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if b"\0" in raw:
                # Valid in both encodings, but no text file has one: UTF-16 ("Unicode text") does.
                return number, "a NUL byte, as UTF-16 files do"
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, f"byte 0x{raw[exc.start]:02X}"
    return None


def _mostly_utf8(path: Path) -> bool:
    """Whether at least as many lines hold valid UTF-8 beyond ASCII as hold bytes UTF-8 refuses."""
    valid = invalid = 0
    with path.open("rb") as handle:
        for raw in handle:
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                invalid += 1
            else:
                valid += 1
    return valid >= invalid


def _text_encoding(path: Path, fmt: str) -> str:
    """The encoding to read the file with, or TransferError if it is none that `fmt` allows."""
    utf8 = _first_unreadable_line(path, "utf-8")
    if utf8 is None:
        return "utf-8-sig"  # drops the BOM if there is one
    if fmt != "csv":
        line, what = utf8
        raise TransferError(f"{path.name} is not UTF-8 text: line {line} holds {what}; NDJSON must be UTF-8")
    gb18030 = _first_unreadable_line(path, "gb18030")
    if gb18030 is None and not _mostly_utf8(path):
        return "gb18030"
    if gb18030 is None:
        # Chinese text in GB18030 is almost never valid UTF-8 as well: a file whose lines mostly are
        # is UTF-8 with a few bad bytes, which GB18030 would read as every name garbled.
        line, what = utf8
        raise TransferError(
            f"{path.name} is UTF-8 text but for line {line}, which holds {what}: correct that line "
            f"(read as GB18030, every Chinese character would come out wrong); {EXCEL_HINT}"
        )
    line, what = gb18030
    raise TransferError(
        f"{path.name} is neither UTF-8 nor GB18030/GBK text: line {line} holds {what}; {EXCEL_HINT}"
    )


# An export holds every status; only what is in force (or whose period is over: stored as expired)
# is listed again by an import. A revoked, exited or repaired record read back would be active.
IMPORTABLE_STATUSES = ("", "active", "expired")
# Spreadsheets run a cell beginning with these as a formula (CSV injection): an export writes such
# a value after a quote mark, which Excel shows as text, and an import takes it off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _not_in_force(number: int, status: Any) -> "Unreadable | None":
    if status is None or (isinstance(status, str) and status.strip().lower() in IMPORTABLE_STATUSES):
        return None
    return Unreadable(
        f"line {number} is a {status} record: only records in force are imported (one revoked, "
        "exited or repaired would be listed again)"
    )


def _as_text_cell(value: Any) -> Any:
    # A value beginning with the quote mark itself gets one too, so that reading takes off exactly
    # what writing added.
    if isinstance(value, str) and value.startswith((*_FORMULA_START, "'")):
        return "'" + value
    return value


def _from_text_cell(value: str) -> str:
    if value.startswith("'") and value[1:].startswith((*_FORMULA_START, "'")):
        return value[1:]
    return value


def _json_line(number: int, line: str) -> Any:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return Unreadable(
            f"line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
            "each line must be one record as a JSON object"
        )
    except RecursionError:
        return Unreadable(f"line {number} is nested too deeply to be a record; each line must be one record")
    if not isinstance(item, dict):
        kind = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(
            type(item), "a number"
        )
        return Unreadable(f"line {number} holds {kind}, not a JSON object; each line must be one record")
    refused = _not_in_force(number, item.get("status"))
    if refused is not None:
        return refused
    # An export's own lines import back: what the registry added (id, agency, status) is not pushed.
    return {key: value for key, value in item.items() if key not in EXPORT_ONLY}


def _from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    row = {key: _from_text_cell(value) if isinstance(value, str) else value for key, value in row.items()}
    item: dict[str, Any] = {
        key: value
        for key, value in row.items()
        if key in CSV_COLUMNS and not key.startswith(("subject_", "notice_"))
    }
    item["subject"] = {
        "kind": row.get("subject_kind", ""),
        "name": row.get("subject_name", ""),
        "identifier_type": row.get("subject_identifier_type", ""),
        "identifier": row.get("subject_identifier", ""),
    }
    for optional in ("publicity_end", "visibility", "listing_basis", "performance"):
        if not item.get(optional):
            item.pop(optional, None)
    if row.get("notice_document_no") or row.get("notice_served_on"):
        item["notice"] = {
            "document_no": row.get("notice_document_no", ""),
            "served_on": row.get("notice_served_on", ""),
        }
    return item


def _header(names: Iterable[str]) -> list[str]:
    # A GB18030 BOM (rare) decodes to U+FEFF as well; Excel users pad headers with spaces.
    return [name.lstrip("\ufeff").strip() for name in names]


def check_file(path: Path, fmt: str) -> str:
    """The encoding to read `path` with; TransferError if it is not text in an encoding `fmt` allows,
    or a CSV whose first line lacks a required column. Nothing is imported from such a file."""
    encoding = _text_encoding(path, fmt)
    if fmt == "csv":
        with path.open(encoding=encoding, newline="") as handle:
            try:
                header = _header(next(csv.reader(handle), []))
            except csv.Error as exc:
                raise TransferError(f"{path.name} is not valid CSV on its first line ({exc})") from None
        missing = [column for column in REQUIRED_CSV_COLUMNS if column not in header]
        if header and missing:
            raise TransferError(
                f"{path.name} has no column {', '.join(missing)}: its first line must name the columns "
                f"({', '.join(CSV_COLUMNS)})"
            )
    return encoding


def read_items(path: Path, fmt: str, encoding: str) -> Iterator[tuple[int, Any]]:
    """(line number, item) for each record of a file `check_file` passed; a line that cannot be a
    record yields `Unreadable`. A malformed CSV yields `Broken` where it breaks, and ends there."""
    with path.open(encoding=encoding, newline="") as handle:
        if fmt == "csv":
            yield from _csv_items(path, handle)
            return
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, _json_line(number, line)


def _csv_items(path: Path, handle: Any) -> Iterator[tuple[int, Any]]:
    # strict: a quoted cell still open at the end of the file is an error, not the rest of the file
    # read into that cell (the lines after it silently lost).
    reader = csv.DictReader(handle, strict=True)
    starts = 1  # the line the row being read starts on (numbered as Excel numbers rows: header 1)
    try:
        reader.fieldnames = _header(reader.fieldnames or [])
        columns = len(reader.fieldnames)
        starts = reader.line_num + 1
        for row in reader:
            number, starts = starts, reader.line_num + 1
            swallowed = _swallowed_lines(path, number, row, columns)
            if swallowed is not None:
                yield number, swallowed
                return
            refused = _not_in_force(number, row.get("status") or "")
            yield number, refused if refused is not None else _from_csv_row(row)
    except csv.Error as exc:
        yield (
            starts,
            Broken(
                f"{path.name} is not valid CSV at line {starts} ({exc}); the lines before it are imported, "
                "nothing after it: correct it and import the file again"
            ),
        )


def _swallowed_lines(path: Path, number: int, row: dict[str, Any], columns: int) -> Broken | None:
    """A quote opened and not closed takes the lines after it into one cell, up to the next stray
    quote: a cell running over a line that holds a whole row's separators is that, not a cell of
    several lines (which a spreadsheet may write)."""
    for value in row.values():
        if not isinstance(value, str) or "\n" not in value:
            continue
        if any(line.count(",") >= columns - 1 for line in value.splitlines()[1:]):
            return Broken(
                f"{path.name} is not valid CSV at line {number}: a quoted cell runs over the lines "
                "after it (a quote not closed?); the lines before it are imported, nothing after it: "
                "correct it and import the file again"
            )
    return None


def batched(items: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def export_rows(session: Session, agency: str | None) -> Iterator[dict[str, Any]]:
    query = (
        select(Record)
        .options(joinedload(Record.subject), selectinload(Record.parties).joinedload(RecordParty.subject))
        .order_by(Record.received_at, Record.id)
    )
    if agency is not None:
        query = query.where(Record.agency_code == agency)
    for record in session.scalars(query.execution_options(yield_per=1000)):
        served = record.notice_document_no is not None and record.notice_served_on is not None
        notice = {"document_no": record.notice_document_no, "served_on": record.notice_served_on}
        # The people named behind the record (NDJSON only: a CSV line has no room for a list).
        related = [
            {
                "role": party.role,
                "subject": {
                    "kind": party.subject.kind,
                    "name": party.name,
                    "identifier_type": party.subject.identifier_type,
                    "identifier": party.subject.identifier,
                },
            }
            for party in record.parties
        ]
        yield (
            as_pushed(record)
            | ({"notice": notice} if served else {})
            | ({"related": related} if related else {})
            | {
                "id": str(record.id),
                "agency": record.agency_code,
                "status": record.status,
            }
        )


def export_encoding(fmt: str) -> str:
    # Excel opens a UTF-8 CSV correctly only when it starts with a BOM; NDJSON readers expect none.
    return "utf-8-sig" if fmt == "csv" else "utf-8"


def _iso_day(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def write_rows(rows: Iterable[dict[str, Any]], handle: Any, fmt: str) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=[*CSV_COLUMNS, *EXPORT_ONLY])
        writer.writeheader()
        for row in rows:
            subject = row.pop("subject")
            row.pop("related", None)
            notice = row.pop("notice", None) or {}
            cells = (
                row
                | {f"subject_{key}": value for key, value in subject.items()}
                | {f"notice_{key}": value for key, value in notice.items()}
            )
            writer.writerow({key: _as_text_cell(value) for key, value in cells.items()})
            count += 1
        return count
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False, default=_iso_day) + "\n")
        count += 1
    return count
