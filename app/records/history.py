"""Records as they stood on a given day, and the status a record has by the calendar alone.

Nothing is deleted: every change to a record is an audit event carrying the record's state after
the change (records.service.snapshot). The state on day D is the last snapshot written before the
end of D, China time. A record whose publicity period is over has exited on that day whether or not
the expiry sweep has run yet.
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.kit.clock import CHINA


def effective_status(status: str, publicity_end: date, day: date) -> str:
    """The status on `day`: an active record past its publicity end has expired by itself."""
    return "expired" if status == "active" and publicity_end < day else status


def in_force(status: str, publicity_start: date, publicity_end: date, day: date) -> bool:
    return status == "active" and publicity_start <= day <= publicity_end


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=CHINA)


def in_force_clause(model: Any, day: date) -> Any:
    """The SQL form of in_force() for a table with status and publicity columns."""
    return and_(model.status == "active", model.publicity_start <= day, model.publicity_end >= day)


def snapshots_as_of(
    session: Session, record_ids: list[uuid.UUID], day: date
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each record's last recorded state before the end of `day`; records not yet received are absent."""
    if not record_ids:
        return {}
    cutoff = end_of_day(day)
    states: dict[uuid.UUID, dict[str, Any]] = {}
    ids = [str(record_id) for record_id in record_ids]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = session.execute(
            select(AuditEntry.entity_id, AuditEntry.payload)
            .where(
                AuditEntry.entity_type == "record",
                AuditEntry.entity_id.in_(chunk),
                AuditEntry.at < cutoff,
            )
            .order_by(AuditEntry.seq)
        )
        for entity_id, payload in rows:
            states[uuid.UUID(entity_id)] = audit.parse_payload(payload)
    for state in states.values():
        end = date.fromisoformat(state["publicity_end"])
        state["status"] = effective_status(state["status"], end, day)
    return states
