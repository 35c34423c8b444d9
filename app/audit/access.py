"""Who looked: every government-view read, logged in the reader's own transaction (a read that
fails is not logged as done; on SQLite the entry's transaction follows the read's), and read back for
oversight."""

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.audit.models import AccessEntry
from app.db import after_position, new_id_texts
from app.kit.clock import utcnow

GOVERNMENT_VIEW = "government_view"


class Reader(Protocol):
    """Whoever reads: an API client acting for an agency (app.auth's Principal is one)."""

    @property
    def client_id(self) -> str: ...

    @property
    def agency_code(self) -> str: ...


def log(
    session: Session,
    reader: Reader,
    what: str,
    *,
    action: str | None = None,
    reference: str | None = None,
    subject_id: uuid.UUID | None = None,
    identifier: str | None = None,
    record_id: uuid.UUID | None = None,
) -> None:
    _writable(session)
    session.add(
        AccessEntry(
            id=uuid.UUID(new_id_texts(1)[0]),
            at=utcnow(),
            client_id=reader.client_id,
            agency_code=reader.agency_code,
            what=what,
            action=action or GOVERNMENT_VIEW,
            reference=reference,
            subject_id=subject_id,
            identifier=identifier,
            record_id=record_id,
        )
    )
    session.flush()


def log_records(session: Session, reader: Reader, what: str, read: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """A read of several records at once (a page of them): one entry per (subject id, record id), so
    that oversight asked about a subject finds every read of its records; an empty page one entry."""
    if not read:
        log(session, reader, what)
        return
    entries = [{"subject_id": subject, "record_id": record} for subject, record in read]
    _log_each(session, reader, what, entries)


def _writable(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.get_execution_options().get("sqlite_immediate"):
        # A GET's transaction has read without SQLite's write lock, and cannot take it once another
        # writer has committed since (SQLite answers "busy" at once, whatever the timeout: a 503).
        # The read is done: its transaction ends here, and the entry is written in the next one,
        # which waits for the lock like any writer's (same connection: none held while waiting).
        session.commit()
        session.connection(execution_options={"sqlite_immediate": True})


def entries(
    session: Session,
    *,
    subject_id: uuid.UUID | None,
    client_id: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    identifier: str | None = None,
) -> list[dict[str, Any]]:
    """Reads in time order after a (time, id) position, as dicts the oversight answer shows; of a
    subject, the reads naming its id or its identifier (a watchlist's page names identifiers the
    registry may not have known then)."""
    query = select(AccessEntry)
    if subject_id is not None and identifier is not None:
        query = query.where(or_(AccessEntry.subject_id == subject_id, AccessEntry.identifier == identifier))
    elif subject_id is not None:
        query = query.where(AccessEntry.subject_id == subject_id)
    elif identifier is not None:
        query = query.where(AccessEntry.identifier == identifier)
    if client_id is not None:
        query = query.where(AccessEntry.client_id == client_id)
    if after is not None:
        query = query.where(after_position(AccessEntry.at, AccessEntry.id, after))
    rows = session.scalars(query.order_by(AccessEntry.at, AccessEntry.id).limit(limit))
    return [
        {
            "id": row.id,
            "at": row.at,
            "kind": "read",
            "what": row.what,
            "client_id": row.client_id,
            "agency": row.agency_code,
            "action": row.action,
            "reference": row.reference,
            "subject_id": row.subject_id,
            "identifier": row.identifier,
            "record_id": row.record_id,
        }
        for row in rows
    ]


def log_identifiers(
    session: Session, reader: Reader, what: str, shown: list[tuple[str, uuid.UUID | None]], reference: str
) -> None:
    """A page of answers about identifiers (a watchlist's decisions): one entry per (identifier, its
    subject's id if the registry knows it), so that oversight asked about a subject finds it; an
    empty page one entry."""
    if not shown:
        log(session, reader, what, reference=reference)
        return
    entries = [{"identifier": name, "subject_id": subject, "reference": reference} for name, subject in shown]
    _log_each(session, reader, what, entries)


def keep_decisions(session: Session, reader: Reader, what: str, decisions: list[dict[str, Any]]) -> None:
    """Decisions made for a reader whose own rows are about to go (a deleted watchlist's alerts):
    each kept as an entry at the instant it was made, with its action, identifier, subject and
    record, so that oversight still finds it (国办发〔2020〕49号: a log that is read)."""
    if decisions:
        _log_each(session, reader, what, decisions)


def _log_each(session: Session, reader: Reader, what: str, entries: list[dict[str, Any]]) -> None:
    """One entry per item shown, all at the same instant unless an item says its own (`at`), with
    what each names."""
    _writable(session)
    now = utcnow()
    session.add_all(
        AccessEntry(
            id=uuid.UUID(entry_id),
            client_id=reader.client_id,
            agency_code=reader.agency_code,
            what=what,
            **({"at": now, "action": GOVERNMENT_VIEW} | names),
        )
        for entry_id, names in zip(new_id_texts(len(entries)), entries, strict=True)
    )
    session.flush()
