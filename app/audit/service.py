"""Append to and verify the hash-chained audit log.

Every change is appended in the same transaction as the change itself, so the log and the data
cannot disagree. Appends are serialized (PostgreSQL advisory lock; SQLite's single writer), which
keeps the chain a single line.

The chain alone proves that no entry was changed in place. It cannot prove that the newest entries
were not cut off, nor that a forger did not recompute every hash after an edit: signed checkpoints
of the chain's head, kept outside the registry, anchor it. And the entries anchor the data: a row
must hold what its last entry recorded (the check for records is app.records.integrity, passed in).
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import bulk_insert, column_in, read_snapshot, serialize_writers
from app.errors import ValidationFailed
from app.keys import get_keyring
from app.kit import signing
from app.kit.clock import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Event:
    action: str  # e.g. "record.created"
    entity_type: str  # "record", "client", "catalog", ...
    entity_id: str
    payload: dict[str, Any]


def canonical_json(value: Any) -> str:
    """The signing module's canonical JSON, as text: what the chain hashes and the rows keep."""
    return signing.canonical_json(value).decode()


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
    seqs = list(range(first_seq, seq + 1))
    for listener in _listeners:
        listener(session, events, seqs)
    return seqs


# What must happen in the same transaction as a change, told by a higher layer that this one may not
# import: every change is appended here, so a listener sees every write path (records pushed,
# corrected, exited, revoked, expired; objections raised and decided; rules added, replaced,
# retired). app.monitoring's alert outbox is one; a listener's error fails the change with it.
# It is told the events and their sequence numbers.
AppendListener = Callable[[Session, Sequence[Event], Sequence[int]], None]
_listeners: list[AppendListener] = []


def on_append(listener: AppendListener) -> None:
    """Call `listener(session, events, seqs)` after each append, in the appending transaction."""
    if listener not in _listeners:
        _listeners.append(listener)


# --- checkpoints ---------------------------------------------------------------------------------

# The `typ` claim: the registry signs receipts and report digests with the same keys, and none of
# those may pass for a checkpoint.
CHECKPOINT_TYPE = "registry.audit.checkpoint"
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str


def head(session: Session) -> tuple[int, str]:
    """The newest entry's seq and hash; (0, the genesis hash) for an empty chain."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def issue_checkpoint(session: Session) -> dict[str, Any]:
    """The chain's head signed with the registry's active key, for an outside party to keep."""
    seq, head_hash = head(session)
    at = utcnow().astimezone(UTC).isoformat(timespec="seconds")
    claims = {"typ": CHECKPOINT_TYPE, "seq": seq, "hash": head_hash, "at": at}
    return {"seq": seq, "hash": head_hash, "at": at, "checkpoint": get_keyring().sign_jws(claims)}


def read_checkpoints(tokens: Sequence[str], names: Sequence[str] | None = None) -> list[Checkpoint]:
    """Checkpoints this registry signed; ValidationFailed naming every token that is not one
    (`checkpoints[i]`, or the caller's names for them)."""
    keyring = get_keyring()
    found, refused = [], []
    for index, token in enumerate(tokens):
        name = names[index] if names is not None else f"checkpoints[{index}]"
        try:
            claims = keyring.verify_jws(token)
        except (ValueError, TypeError):
            refused.append({"field": name, "detail": "not signed by any of this registry's keys (JWKS)"})
            continue
        seq, head_hash, at = claims.get("seq"), claims.get("hash"), claims.get("at")
        if (
            claims.get("typ") == CHECKPOINT_TYPE
            and isinstance(seq, int)
            and not isinstance(seq, bool)
            and seq >= 0
            and isinstance(head_hash, str)
            and _HASH.fullmatch(head_hash)
            and isinstance(at, str)
        ):
            found.append(Checkpoint(seq, head_hash, at))
        else:
            refused.append({"field": name, "detail": "signed by this registry, but not an audit checkpoint"})
    if refused:
        raise ValidationFailed(refused)
    return found


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Altered:
    """Rows that differ from what their last audit entry recorded: the first ids, and how many."""

    ids: list[str] = field(default_factory=list)
    count: int = 0


# Given by a higher layer (app.main, app.cli): the audit log knows no table but its own.
RecordCheck = Callable[[Session], Altered]
# Why other rows the log vouches for (measures and rules: app.rules.integrity) differ; None if not.
RulesCheck = Callable[[Session], str | None]


@dataclass(frozen=True)
class Verification:
    valid: bool
    last_seq: int
    broken_at: int | None = None
    # entry_missing | entry_out_of_order | entry_altered | checkpoint_mismatch | record_altered
    reason: str | None = None
    detail: str | None = None
    altered_records: list[str] | None = None
    altered_count: int | None = None


def verify_snapshot(
    checkpoints: Sequence[Checkpoint] = (),
    record_check: RecordCheck | None = None,
    rules_check: RulesCheck | None = None,
) -> Verification:
    """verify() in a transaction of its own that sees the database as of its first read: the chain,
    the checkpoints and the rows are held against one another as they stood together, and a long
    walk holds no write lock (SQLite) and sees no change committed meanwhile (PostgreSQL)."""
    with read_snapshot() as connection, Session(bind=connection) as session:
        return verify(session, checkpoints, record_check, rules_check)


def verify(
    session: Session,
    checkpoints: Sequence[Checkpoint] = (),
    record_check: RecordCheck | None = None,
    rules_check: RulesCheck | None = None,
    batch_size: int = 5000,
) -> Verification:
    """Walk the whole chain; report the first entry that was altered, removed or moved, or that
    differs from a kept checkpoint; then, the chain being sound, the rows that differ from it."""
    kept: dict[int, set[str]] = {}
    for checkpoint in checkpoints:
        kept.setdefault(checkpoint.seq, set()).add(checkpoint.hash)
    last_matched = 0
    expected_seq, prev_hash = 1, GENESIS_HASH
    rows: Iterable[AuditEntry] = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    )
    for row in rows:
        if row.seq != expected_seq:
            return Verification(
                False, expected_seq - 1, expected_seq, "entry_missing", f"entry {expected_seq} is missing"
            )
        if row.prev_hash != prev_hash:
            return Verification(
                False, row.seq - 1, row.seq, "entry_out_of_order", "does not follow the entry before it"
            )
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
            return Verification(
                False, row.seq - 1, row.seq, "entry_altered", "content differs from what was recorded"
            )
        if row.seq in kept:
            if kept[row.seq] != {row.hash}:
                return Verification(
                    False,
                    row.seq - 1,
                    row.seq,
                    "checkpoint_mismatch",
                    f"entry {row.seq} differs from the checkpoint kept of it: the chain was re-written "
                    f"after entry {last_matched} and up to this one",
                )
            last_matched = row.seq
        expected_seq, prev_hash = row.seq + 1, row.hash
    last_seq = expected_seq - 1
    beyond = max((seq for seq in kept if seq > last_seq), default=None)
    if beyond is not None:
        return Verification(
            False,
            last_seq,
            last_seq + 1,
            "checkpoint_mismatch",
            f"a checkpoint vouches for entry {beyond}, but the chain ends at entry {last_seq}: "
            f"entries {last_seq + 1} to {beyond} are gone",
        )
    if record_check is not None:
        altered = record_check(session)
        if altered.count:
            return Verification(
                False,
                last_seq,
                reason="record_altered",
                detail=f"{altered.count} record row(s) differ from what their last audit entry recorded",
                altered_records=altered.ids,
                altered_count=altered.count,
            )
    if rules_check is not None and (why := rules_check(session)) is not None:
        return Verification(False, last_seq, reason="rules_altered", detail=why)
    return Verification(True, last_seq)


def entries_after(
    session: Session, after: int, limit: int, entity_type: str | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.seq > after)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    return list(session.scalars(query.order_by(AuditEntry.seq).limit(limit)))


def entries_holding(
    session: Session, key: str, entity_types: Sequence[str]
) -> list[tuple[int, dict[str, Any]]]:
    """(seq, payload) of every entry about one of `entity_types` whose payload holds `key`, in order."""
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.payload)
        .where(AuditEntry.entity_type.in_(entity_types), AuditEntry.payload.contains(f'"{key}"'))
        .order_by(AuditEntry.seq)
    )
    return [(seq, parse_payload(payload)) for seq, payload in rows]


def latest_payloads(session: Session, entity_type: str, entity_ids: list[str]) -> dict[str, str]:
    """entity id -> the payload of its newest entry, for those of `entity_ids` that have one."""
    newest = (
        select(func.max(AuditEntry.seq))
        .where(AuditEntry.entity_type == entity_type, column_in(session, AuditEntry.entity_id, entity_ids))
        .group_by(AuditEntry.entity_id)
    )
    query = select(AuditEntry.entity_id, AuditEntry.payload).where(AuditEntry.seq.in_(newest))
    return {entity_id: payload for entity_id, payload in session.connection().execute(query)}


def entity_ids_after(session: Session, entity_type: str, after: str, limit: int) -> list[str]:
    """The distinct ids of `entity_type` the log names, in order, from just after `after`."""
    query = (
        select(AuditEntry.entity_id)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id > after)
        .group_by(AuditEntry.entity_id)
        .order_by(AuditEntry.entity_id)
        .limit(limit)
    )
    return list(session.scalars(query))


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
