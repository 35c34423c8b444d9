"""The public identifier lookup's hot path: one prepared query over an async psycopg connection.

The lookup is the most frequent public request. On PostgreSQL it runs in the event loop on a small
per-process pool of autocommit connections (no threadpool hop, no ORM), with the statement that
app.public.view builds, compiled once; elsewhere (SQLite) the same statement runs on the engine in
the threadpool. Both paths shape the rows with the same function.
"""

from datetime import date
from typing import Any

from sqlalchemy.dialects import postgresql
from starlette.concurrency import run_in_threadpool

from app.db.asyncpool import AsyncPool
from app.config import get_settings
from app.db import get_read_engine
from app.public import view


def _compile(statement: Any) -> tuple[str, dict[str, Any]]:
    """SQL text for psycopg and the literal parameters (the caller adds identifier/ref and today)."""
    placeholders = {"today": None, "identifier": None, "ref": None}
    compiled = statement.params(placeholders).compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


class AsyncLookup:
    def __init__(self, database_url: str) -> None:
        self.pool = AsyncPool(database_url)
        self.by_identifier = _compile(view.BY_IDENTIFIER)
        self.by_ref = _compile(view.BY_REF)

    async def rows(self, key: str, today: date) -> list[tuple[Any, ...]]:
        statement, params = view.lookup_statement(key)
        sql, defaults = self.by_ref if statement is view.BY_REF else self.by_identifier
        async with self.pool.connection() as connection:
            cursor = await connection.execute(sql, defaults | params | {"today": today})  # type: ignore[arg-type]
            return await cursor.fetchall()


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
