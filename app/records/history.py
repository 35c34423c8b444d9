"""Records as they stood on a given day, and the status a record has by the calendar alone.

Nothing is deleted: every change to a record is an audit event carrying the record's state after
the change (snapshot, below). The state on day D is the last snapshot written before the
end of D, China time. A record whose publicity period is over has exited on that day whether or not
the expiry sweep has run yet.
"""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.kit.clock import end_of_day
from app.records.models import Record


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
    # How the subject was told before listing (国办发〔2020〕49号), held like the rest of the record.
    "notice_id",
    "notice_document_no",
    "notice_served_on",
)


def snapshot(row: dict[str, Any] | Record) -> dict[str, Any]:
    """The state of a record that the audit log and the change feed carry with each event."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {name: get(name) for name in _SNAPSHOT_FIELDS}


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
