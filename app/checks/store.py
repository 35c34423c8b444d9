"""Where checks read what the registry knows and write what they answered: one small interface, two
transports.

- On PostgreSQL the reads and writes run on the event loop, over the app's async connection pool
  (app.db.asyncpool): today's facts with one prepared statement, answered rows with one COPY in
  autocommit, whose own commit makes them durable before any answer leaves. A batch's rows go in
  one COPY fed part by part as they are decided, and its shared receipt parts after them, in one
  transaction.
- On SQLite (and for as-of days on either database, which read the audit log's snapshots) they run
  in a worker thread on the engine.

Single checks that arrive while a read or a write is in flight go together in the next one
(app.kit.coalesce): under load one round trip and one commit serve several checks; a lone check
waits for nothing. The flow above (app.checks.flows) is the same whatever the transport.
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import date
from typing import Any, NamedTuple, Protocol

import psycopg
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.checks.engine import Facts, facts_from_rows
from app.checks.models import Check, CheckBatch
from app.checks.receipts import BatchLookup, BatchRoot
from app.db import bulk_insert, copy_line, copy_statement, copy_utf8_text, get_engine, session_scope
from app.db.asyncpool import AsyncPool
from app.kit.clock import utcnow
from app.kit.coalesce import Coalescer
from app.records import repository
from app.records.repository import SUBJECT_WIDTH

# Reads of many identifiers go to the database this many at a time.
READ_CHUNK = 5000


class CheckRow(NamedTuple):
    """A row of `checks` as written (app.checks.models.Check). Ids in text form (UUID columns take
    either); the receipt is stored with its payload detached (app.checks.receipts)."""

    id: str
    agency_code: str
    client_id: str
    identifier: str
    subject_id: str | None
    found: bool
    action: str
    reference: str | None
    as_of: date | None
    decision: str
    decisive_domain: str | None
    under_objection: bool
    state_digest: str
    answer: bytes  # the answer's JSON as orjson made it (UTF-8), stored as text
    rules_digest: str
    receipt_issuer: str
    receipt_format: int
    checked_at: Any
    receipt: str


# A batch's rows as they are decided, a part at a time, and then what their receipts share (called
# once every part is written: the batch is signed then).
RowParts = AsyncGenerator[list[CheckRow], None]
BatchSigned = Callable[[], Awaitable[BatchRoot | None]]


class Transport(Protocol):
    async def read_today(self, day: date, identifiers: list[str]) -> list[tuple[Any, ...]]: ...

    async def write(self, rows: list[CheckRow]) -> None:
        """The rows, durable when it returns."""
        ...

    async def write_batch(self, parts: RowParts, signed: BatchSigned) -> None:
        """Every part's rows and the batch their receipts share, in one transaction."""
        ...


class ThreadTransport:
    """SQLite (or any database without the async path): the engine, in a worker thread."""

    async def read_today(self, day: date, identifiers: list[str]) -> list[tuple[Any, ...]]:
        return await run_in_threadpool(_read_today, day, identifiers)

    async def write(self, rows: list[CheckRow]) -> None:
        await run_in_threadpool(_write, rows, None)

    async def write_batch(self, parts: RowParts, signed: BatchSigned) -> None:
        rows = [row async for part in parts for row in part]
        await run_in_threadpool(_write, rows, await signed())


def _read_today(day: date, identifiers: list[str]) -> list[tuple[Any, ...]]:
    with get_engine().connect() as connection:
        return repository.read_in_force(connection, identifiers, day)


def _write(rows: list[CheckRow], batch: BatchRoot | None) -> None:
    with session_scope() as session:
        if batch is not None:
            session.add(_batch_row(batch))
            session.flush()
        bulk_insert(session, Check, [row._asdict() | {"answer": row.answer.decode()} for row in rows])


def _batch_row(batch: BatchRoot) -> CheckBatch:
    return CheckBatch(
        root=batch.root,
        key=batch.key,
        signed_root=batch.signed_root,
        leaves=batch.leaves,
        size=batch.size,
        created_at=utcnow(),
    )


def batch_lookup(session: Session) -> BatchLookup:
    """Finds a batch's shared receipt parts by the name its rows give it (its id, or its root for
    batches stored before ids), for rebuilding a stored receipt."""

    def find(key: str) -> BatchRoot | None:
        row = session.scalars(
            select(CheckBatch).where(or_(CheckBatch.key == key, CheckBatch.root == key))
        ).first()
        if row is None:
            return None
        return BatchRoot(row.root, row.signed_root, bytes(row.leaves), row.size, row.key or row.root)

    return find


_COPY = copy_statement(Check, CheckRow._fields)
_INSERT_BATCH = (
    "INSERT INTO check_batches (root, key, signed_root, leaves, size, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


class PostgresTransport:
    """PostgreSQL: the app's async pool, on the event loop (no thread hop, no ORM)."""

    def __init__(self, pool: AsyncPool) -> None:
        self.pool = pool
        self.read_sql, self.read_defaults = repository.in_force_sql_for_psycopg()
        # A batch being written holds a connection while its next parts are read on others: at
        # most half the pool is held so, else enough concurrent batches would hold every
        # connection, each waiting for one to read with.
        self.batch_writers = asyncio.Semaphore(max(pool.size // 2, 1))

    async def read_today(self, day: date, identifiers: list[str]) -> list[tuple[Any, ...]]:
        params = self.read_defaults | {"day": day, "identifiers": identifiers}

        async def read(connection: Any) -> list[tuple[Any, ...]]:
            # Planned for each read's own identifiers, never prepared: a prepared read may get one
            # generic plan made with the statistics of the moment, and a plan made while the tables
            # were nearly empty stayed in use as they grew (reads of one subject went from 5 ms to
            # 3 s within two minutes of `scripts/bench soak`: checks' p99 5-25 s). The number of
            # identifiers also ranges from 1 to 5,000, which no one plan serves well.
            cursor = await connection.execute(self.read_sql, params, prepare=False)
            return list(await cursor.fetchall())

        return await self.pool.run(read)

    async def write(self, rows: list[CheckRow]) -> None:
        data = _copy_data(rows)

        async def copy(connection: Any) -> None:
            async with connection.cursor() as cursor, cursor.copy(_COPY) as writer:
                await writer.write(data)

        await self.pool.run(copy)

    async def write_batch(self, parts: RowParts, signed: BatchSigned) -> None:
        """One COPY, fed each part as soon as it is decided: the database takes in one part while
        the next is being decided. The batch's shared receipt parts last, in the same transaction."""
        reading = False

        async def copy(connection: Any) -> None:
            nonlocal reading
            if reading:  # the pool tries again on a new connection: the parts are gone by now
                raise psycopg.OperationalError("the connection was lost while a batch was written")
            async with connection.transaction():
                reading = True
                async with connection.cursor() as cursor, cursor.copy(_COPY) as writer, aclosing(parts):
                    async for part in parts:
                        await writer.write(_copy_data(part))
                batch = await signed()
                if batch is not None:
                    await connection.execute(
                        _INSERT_BATCH,
                        (batch.root, batch.key, batch.signed_root, batch.leaves, batch.size, utcnow()),
                    )

        async with self.batch_writers:
            await self.pool.run(copy)


_ANSWER = CheckRow._fields.index("answer")


def _copy_data(rows: list[CheckRow]) -> bytes:
    """The rows in COPY's text format. Each answer is kept in the bytes orjson made and escaped as
    bytes, rather than decoded, escaped as text and encoded again by the driver: ~70 of ~600 ms of
    processor time a batch of 10,000 spent on its ~20 MB."""
    lines = []
    for row in rows:
        head, tail = copy_line(row[:_ANSWER]), copy_line(row[_ANSWER + 1 :])
        assert head is not None and tail is not None, "a check row's values are of types COPY lines take"
        lines.append(b"".join((head[:-1].encode(), b"\t", copy_utf8_text(row.answer), b"\t", tail.encode())))
    return b"".join(lines)


class CheckStore:
    """Facts in, answered rows out; single checks coalesced, batches in one go."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._reads: Coalescer[tuple[date, str], Facts | None] = Coalescer(self._read_group)
        self._writes: Coalescer[CheckRow, None] = Coalescer(self._write_group)

    async def facts(self, day: date, identifier: str) -> Facts | None:
        """Today's facts of one identifier, read together with those of concurrent checks."""
        return await self._reads.submit((day, identifier))

    async def facts_of_many(self, day: date, identifiers: list[str]) -> dict[str, Facts]:
        found: dict[str, Facts] = {}
        for start in range(0, len(identifiers), READ_CHUNK):
            rows = await self.transport.read_today(day, identifiers[start : start + READ_CHUNK])
            found.update(facts_from_rows(rows, SUBJECT_WIDTH))
        return found

    async def facts_as_of(self, day: date, identifiers: list[str]) -> dict[str, Facts]:
        """As the registry stood at the end of a past day: from the audit log, in a worker thread."""
        return await run_in_threadpool(_read_as_of, day, identifiers)

    async def record(self, row: CheckRow) -> None:
        await self._writes.submit(row)

    async def record_batch(self, parts: RowParts, signed: BatchSigned) -> None:
        """A batch's rows, written as they come (`parts`), and what their receipts share
        (`signed`, once every part is in); nothing of it is stored unless all of it is."""
        await self.transport.write_batch(parts, signed)

    async def _read_group(self, asked: list[tuple[date, str]]) -> list[Facts | None]:
        found: dict[date, dict[str, Facts]] = {}
        for day in dict.fromkeys(day for day, _ in asked):
            identifiers = list(dict.fromkeys(identifier for on, identifier in asked if on == day))
            rows = await self.transport.read_today(day, identifiers)
            found[day] = facts_from_rows(rows, SUBJECT_WIDTH)
        return [found[day].get(identifier) for day, identifier in asked]

    async def _write_group(self, rows: list[CheckRow]) -> list[None]:
        await self.transport.write(rows)
        return [None] * len(rows)


def _read_as_of(day: date, identifiers: list[str]) -> dict[str, Facts]:
    found: dict[str, Facts] = {}
    with session_scope(writing=False) as session:
        for start in range(0, len(identifiers), READ_CHUNK):
            rows = repository.read_in_force_as_of(session, identifiers[start : start + READ_CHUNK], day)
            found.update(facts_from_rows(rows, SUBJECT_WIDTH))
    return found
