"""Import and export of records as NDJSON or CSV, for operators moving data in bulk.

An import goes through the same ingestion as the API (same checks, same audit), in batches; each
refused line is reported with its line number and the reason.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.records.models import Record

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
]


def _from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        key: value for key, value in row.items() if key in CSV_COLUMNS and not key.startswith("subject_")
    }
    item["subject"] = {
        "kind": row.get("subject_kind", ""),
        "name": row.get("subject_name", ""),
        "identifier_type": row.get("subject_identifier_type", ""),
        "identifier": row.get("subject_identifier", ""),
    }
    for optional in ("publicity_end", "visibility"):
        if not item.get(optional):
            item.pop(optional, None)
    return item


def read_items(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, item) for each record in the file; a line that is not JSON yields its text."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if fmt == "csv":
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, _from_csv_row(row)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"


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
    query = select(Record).options(joinedload(Record.subject)).order_by(Record.received_at, Record.id)
    if agency is not None:
        query = query.where(Record.agency_code == agency)
    for record in session.scalars(query.execution_options(yield_per=1000)):
        yield {
            "external_id": record.external_id,
            "domain": record.domain_code,
            "list_type": record.list_type,
            "severity": record.severity,
            "subject": {
                "kind": record.subject.kind,
                "name": record.subject_name,
                "identifier_type": record.subject.identifier_type,
                "identifier": record.subject.identifier,
            },
            "conduct": record.conduct,
            "decision_no": record.decision_no,
            "decision_date": record.decision_date.isoformat(),
            "legal_basis": record.legal_basis,
            "publicity_end": record.publicity_end.isoformat() if record.publicity_end else None,
            "visibility": record.visibility,
            "id": str(record.id),
            "agency": record.agency_code,
            "status": record.status,
        }


def write_rows(rows: Iterable[dict[str, Any]], handle: Any, fmt: str) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=[*CSV_COLUMNS, "id", "agency", "status"])
        writer.writeheader()
        for row in rows:
            subject = row.pop("subject")
            writer.writerow(row | {f"subject_{key}": value for key, value in subject.items()})
            count += 1
        return count
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
