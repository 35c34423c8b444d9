"""Append to and verify the hash-chained audit log.

Every change is appended in the same transaction as the change itself, so the log and the data
cannot disagree. Appends are serialized (PostgreSQL advisory lock; SQLite's single writer), which
keeps the chain a single line.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import bulk_insert, serialize_writers
from app.kit.clock import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Event:
    action: str  # e.g. "record.created"
    entity_type: str  # "record", "client", "catalog", ...
    entity_id: str
    payload: dict[str, Any]


def canonical_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def chain_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: str,
) -> str:
    material = orjson.dumps([prev_hash, seq, _instant(at), actor, action, entity_type, entity_id, payload])
    return hashlib.sha256(material).hexdigest()


@lru_cache(maxsize=256)
def _instant(at: datetime) -> str:
    """The instant in UTC to the microsecond: the same text whichever zone it was made or read in.
    (A batch appends all its events at one instant: formatted once.)"""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def append(session: Session, actor: str, events: Sequence[Event]) -> list[int]:
    """Append events in order; returns their sequence numbers."""
    if not events:
        return []
    serialize_writers(session)  # the chain stays a single line
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    first_seq = seq + 1
    at = utcnow()
    rows = []
    for event in events:
        seq += 1
        payload = canonical_json(event.payload)
        row_hash = chain_hash(
            prev_hash=prev_hash,
            seq=seq,
            at=at,
            actor=actor,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            payload=payload,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": event.action,
                "entity_type": event.entity_type,
                "entity_id": event.entity_id,
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": row_hash,
            }
        )
        prev_hash = row_hash
    bulk_insert(session, AuditEntry, rows)
    return list(range(first_seq, seq + 1))


@dataclass(frozen=True)
class Verification:
    valid: bool
    last_seq: int
    broken_at: int | None = None
    reason: str | None = None


def verify(session: Session, batch_size: int = 5000) -> Verification:
    """Walk the whole chain; report the first entry that was altered, removed or moved."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    rows: Iterable[AuditEntry] = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    )
    for row in rows:
        if row.seq != expected_seq:
            return Verification(False, expected_seq - 1, expected_seq, f"entry {expected_seq} is missing")
        if row.prev_hash != prev_hash:
            return Verification(False, row.seq - 1, row.seq, "does not follow the entry before it")
        recomputed = chain_hash(
            prev_hash=row.prev_hash,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            payload=row.payload,
        )
        if recomputed != row.hash:
            return Verification(False, row.seq - 1, row.seq, "content differs from what was recorded")
        expected_seq, prev_hash = row.seq + 1, row.hash
    return Verification(True, expected_seq - 1)


def entries_after(
    session: Session, after: int, limit: int, entity_type: str | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.seq > after)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    return list(session.scalars(query.order_by(AuditEntry.seq).limit(limit)))


def parse_payload(payload: str) -> dict[str, Any]:
    return dict(orjson.loads(payload))


def entries_for(session: Session, entity_type: str, entity_id: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def last_states_before(
    session: Session, entity_type: str, entity_ids: list[str], cutoff: datetime
) -> dict[str, dict[str, Any]]:
    """Each entity's payload in its last entry before `cutoff` (entities with none are absent): the
    state it was in then, for answers "as of" a past day."""
    states: dict[str, dict[str, Any]] = {}
    for start in range(0, len(entity_ids), 1000):
        rows = session.execute(
            select(AuditEntry.entity_id, AuditEntry.payload)
            .where(
                AuditEntry.entity_type == entity_type,
                AuditEntry.entity_id.in_(entity_ids[start : start + 1000]),
                AuditEntry.at < cutoff,
            )
            .order_by(AuditEntry.seq)
        )
        for entity_id, payload in rows:
            states[entity_id] = parse_payload(payload)
    return states
