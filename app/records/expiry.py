"""The expiry sweep: write down, as events, the exits the calendar has already made.

A record past its publicity end has left every view at once (history.effective_status); the sweep
only brings the stored status in line and puts an `record.expired` event in the audit log and the
change feed. Several instances may run it at once: a PostgreSQL advisory lock lets one do the work
and the others return at once; on SQLite the writing transaction already excludes the others.
"""

from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.kit.clock import china_today, utcnow
from app.records.history import snapshot, subject_facts
from app.records.lifecycle import update_versioned
from app.records.models import Record

_SWEEP_LOCK_KEY = 0x5357454550  # "SWEEP"
SWEEP_ACTOR = "system:expiry-sweep"


def _claim_sweep(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _SWEEP_LOCK_KEY}))


def sweep_expired(session: Session, today: date | None = None, limit: int = 5000) -> int | None:
    """Mark up to `limit` records expired; the count, or None when another instance holds the sweep."""
    if not _claim_sweep(session):
        return None
    today = today or china_today()
    query = (
        select(Record)
        .where(Record.status == "active", Record.publicity_end < today)
        .order_by(Record.publicity_end)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # A record being corrected right now is left for the next sweep rather than waited for.
        query = query.with_for_update(skip_locked=True)
    records = session.scalars(query).all()
    now = utcnow()
    events = []
    named = subject_facts(session, records)
    for record in records:
        values = {
            "status": "expired",
            "exited_at": now,
            "exit_reason": f"publicity period ended on {record.publicity_end}",
            "version": record.version + 1,
            "updated_at": now,
        }
        update_versioned(session, record, values, record.version)
        state = snapshot(record, named[record.subject_id])
        events.append(audit.Event("record.expired", "record", str(record.id), state))
    audit.append(session, SWEEP_ACTOR, events)
    return len(records)
