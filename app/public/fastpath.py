"""The public identifier lookup's hot path: one prepared query over an async psycopg connection.

The lookup is the most frequent public request. On PostgreSQL it runs in the event loop on a small
per-process pool of autocommit connections (no threadpool hop, no ORM), with the statement that
app.public.view builds, compiled once; elsewhere (SQLite) the same statement runs on the engine in
the threadpool. Both paths shape the rows with the same function.
"""

import asyncio
import weakref
from datetime import date
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import get_read_engine
from app.public import view

POOL_SIZE = 8


def _compile(statement: Any) -> tuple[str, dict[str, Any]]:
    """SQL text for psycopg and the literal parameters (the caller adds identifier/ref and today)."""
    placeholders = {"today": None, "identifier": None, "ref": None}
    compiled = statement.params(placeholders).compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


class _Pool:
    """A handful of autocommit connections for one event loop (psycopg connections are loop-bound)."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo, self.size = conninfo, size
        self.idle: asyncio.LifoQueue[psycopg.AsyncConnection[Any]] = asyncio.LifoQueue()
        self.opened = 0

    async def acquire(self) -> psycopg.AsyncConnection[Any]:
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            try:
                return await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, prepare_threshold=0
                )
            except BaseException:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def release(self, connection: psycopg.AsyncConnection[Any], broken: bool) -> None:
        if broken or connection.closed:
            self.opened -= 1
            await connection.close()
        else:
            self.idle.put_nowait(connection)


class AsyncLookup:
    def __init__(self, database_url: str) -> None:
        self.conninfo = (
            make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.by_identifier = _compile(view.BY_IDENTIFIER)
        self.by_ref = _compile(view.BY_REF)
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _Pool(self.conninfo, POOL_SIZE)
        return pool

    async def rows(self, key: str, today: date) -> list[tuple[Any, ...]]:
        statement, params = view.lookup_statement(key)
        sql, defaults = self.by_ref if statement is view.BY_REF else self.by_identifier
        pool = self._pool()
        connection = await pool.acquire()
        broken = True
        try:
            cursor = await connection.execute(sql, defaults | params | {"today": today})  # type: ignore[arg-type]
            rows = await cursor.fetchall()
            broken = False
            return rows
        finally:
            await pool.release(connection, broken)


_lookup: AsyncLookup | None = None


def _async_lookup() -> AsyncLookup | None:
    global _lookup
    settings = get_settings()
    if settings.is_sqlite:
        return None
    if _lookup is None:
        # A public answer may lag a moment: the replica serves it when one is configured.
        _lookup = AsyncLookup(settings.read_database_url or settings.resolved_database_url)
    return _lookup


def _sync_rows(key: str, today: date) -> list[Any]:
    statement, params = view.lookup_statement(key)
    with get_read_engine().connect() as connection:
        return list(connection.execute(statement, params | {"today": today}))


async def public_subject(key: str, today: date) -> view.PublicSubject | None:
    lookup = _async_lookup()
    if lookup is None:
        return view.from_rows(await run_in_threadpool(_sync_rows, key, today))
    return view.from_rows(await lookup.rows(key, today))
