"""Records as they stood on a given day, and the status a record has by the calendar alone.

Nothing is deleted: every change to a record is an audit event carrying the record's state after
the change (snapshot, below). The state on day D is the last snapshot written before the
end of D, China time. A record whose publicity period is over has exited on that day whether or not
the expiry sweep has run yet.
"""

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.kit.clock import end_of_day
from app.records.models import Record, Subject


def effective_status(status: str, publicity_end: date | None, day: date) -> str:
    """The status on `day`: an active record past its publicity end has expired by itself (one
    without an end stays until it exits)."""
    return "expired" if status == "active" and publicity_end is not None and publicity_end < day else status


_SNAPSHOT_FIELDS = (
    "agency_code",
    "external_id",
    "domain_code",
    "list_type",
    "severity",
    "subject_id",
    "subject_name",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_start",
    "publicity_end",
    "visibility",
    "status",
    "version",
    "under_objection",
    "late_disclosure",
    "exit_reason",
    "exit_decision_no",
    "listing_basis",
    "performance",
    # How the subject was told before listing (国办发〔2020〕49号), held like the rest of the record.
    "notice_id",
    "notice_document_no",
    "notice_served_on",
)


# Whom the record names, beside its subject id: the subject's identifier, kind and birth date. The
# subjects table is held against them too (app.records.integrity), so that a record moved onto
# another entity by rewriting a subject's identifier, or an organisation taken out of the public view
# by making it a person (or a person's age changed, and with it the minors rule), behind the
# registry's back, is found. Entries written before 2026-12-07 lack them all; before 2026-12-08, the
# kind and birth date.
SUBJECT_KEY = "subject_identifier"
SUBJECT_KEYS = {SUBJECT_KEY: "identifier", "subject_kind": "kind", "subject_birth_date": "birth_date"}
SubjectFacts = dict[str, Any]  # SUBJECT_KEYS' keys -> the subject's values


def facts_of(subject: Any) -> SubjectFacts:
    """What a snapshot names of a subject (a Subject, a row or a dict with its fields)."""
    get = subject.get if isinstance(subject, dict) else lambda name: getattr(subject, name)
    return {key: get(field) for key, field in SUBJECT_KEYS.items()}


def snapshot(row: dict[str, Any] | Record, subject: SubjectFacts | None = None) -> dict[str, Any]:
    """The state of a record that the audit log and the change feed carry with each event; with
    what it names of its subject when given (every event the registry writes gives it)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    state = {name: get(name) for name in _SNAPSHOT_FIELDS}
    if subject is not None:
        state |= subject
    return state


def subject_facts(session: Session, records: Iterable[Record]) -> dict[uuid.UUID, SubjectFacts]:
    """What each record's snapshot names of its subject, by subject id."""
    ids = {record.subject_id for record in records}
    if not ids:
        return {}
    rows = session.execute(
        select(Subject.id, Subject.identifier, Subject.kind, Subject.birth_date).where(Subject.id.in_(ids))
    )
    return {row.id: facts_of(row) for row in rows}


def recorded_state(session: Session, record: Record) -> dict[str, Any]:
    """One record's snapshot, its subject read for it."""
    return snapshot(record, subject_facts(session, [record])[record.subject_id])


def snapshots_as_of(
    session: Session, record_ids: list[uuid.UUID], day: date
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each record's last recorded state before the end of `day`; records not yet received are absent."""
    if not record_ids:
        return {}
    states = {
        uuid.UUID(entity_id): state
        for entity_id, state in audit.last_states_before(
            session, "record", [str(record_id) for record_id in record_ids], end_of_day(day)
        ).items()
    }
    for state in states.values():
        end = state["publicity_end"]
        state["status"] = effective_status(state["status"], date.fromisoformat(end) if end else None, day)
    return states
