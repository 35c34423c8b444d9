"""Record rows held against the content their last audit entry recorded.

Every change to a record appends its snapshot (service.snapshot) to the audit log in the same
transaction, so a row that differs from its newest snapshot was changed behind the registry's back
(an UPDATE in SQL, one table restored from an older backup). A row no entry names was inserted that
way, and a record the log names whose row is gone was deleted that way (the registry deletes none).

The registry holds millions of records: both walks go by the primary key in batches, holding one
batch's rows and payloads at a time. app.main and app.cli pass `altered_records` to the audit
verification (app.audit knows no table but its own).
"""

import uuid
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.db import column_in
from app.records.history import _SNAPSHOT_FIELDS, SUBJECT_KEYS, snapshot
from app.records.models import Record, Subject

# The answer names this many altered records at most (and counts them all).
ALTERED_LIMIT = 1000
# The record's fields, and the identifier of the subject it names (a subject's identifier rewritten
# moves every record naming it onto another entity).
_COLUMNS = (
    Record.id,
    *(getattr(Record, name) for name in _SNAPSHOT_FIELDS),
    *(getattr(Subject, field).label(key) for key, field in SUBJECT_KEYS.items()),
)


def altered_records(session: Session, batch_size: int = 2000) -> audit.Altered:
    ids: list[str] = []
    count = 0

    def found(record_id: str) -> None:
        nonlocal count
        count += 1
        if len(ids) < ALTERED_LIMIT:
            ids.append(record_id)

    after: uuid.UUID | None = None
    while True:
        query = (
            select(*_COLUMNS)
            .join(Subject, Subject.id == Record.subject_id)
            .order_by(Record.id)
            .limit(batch_size)
        )
        if after is not None:
            query = query.where(Record.id > after)
        rows = session.connection().execute(query).all()  # plain rows: no ORM bookkeeping
        if not rows:
            break
        keys = [str(row.id) for row in rows]
        recorded = audit.latest_payloads(session, "record", keys)
        for key, row in zip(keys, rows, strict=True):
            payload = recorded.get(key)
            if payload is None or differs(row._asdict(), payload):
                found(key)
        after = rows[-1].id

    after_text = ""
    while True:
        named = audit.entity_ids_after(session, "record", after_text, batch_size)
        if not named:
            break
        parsed = {text: _uuid(text) for text in named}
        wanted = [record_id for record_id in parsed.values() if record_id is not None]
        query = select(Record.id).where(column_in(session, Record.id, wanted))
        stored = set(session.connection().execute(query).scalars())
        for text, record_id in parsed.items():
            if record_id not in stored:
                found(text)
        after_text = named[-1]
    return audit.Altered(ids, count)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:  # not a record id at all: reported as a record that is not there
        return None


def differs(row: dict[str, Any], payload: str) -> bool:
    """Whether the row's snapshot fields differ from those its entry recorded. Compared as the
    entry's canonical JSON (dates as ISO text, ids as text, true/false/null), field by field; a
    field entries recorded only from some release on is compared where the entry has it."""
    current = snapshot(row, {key: row[key] for key in SUBJECT_KEYS})
    if audit.canonical_json(current) == payload:  # most entries: the snapshot exactly, as written
        return False
    held = orjson.loads(payload)
    if not isinstance(held, dict):
        return True
    names = [name for name in current if name in held]
    mine = audit.canonical_json({name: current[name] for name in names})
    theirs = audit.canonical_json({name: held[name] for name in names})
    return mine != theirs
