"""The public identifier lookup: one query, on the event loop over the app's async pool on
PostgreSQL (no threadpool hop, no ORM), on the engine in a worker thread elsewhere. Both run the
statement app.public.view builds and shape the rows with the same function.
"""

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import postgresql
from starlette.concurrency import run_in_threadpool

from app.catalog import service as catalog
from app.db import get_read_engine
from app.db.asyncpool import AsyncPool
from app.public import view


@lru_cache
def compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """SQL text for psycopg and the literal parameters (the caller adds identifier/ref and today)."""
    placeholders = {"today": None, "identifier": None, "ref": None}
    compiled = statement.params(placeholders).compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


def _sync_lookup(key: str, today: date) -> view.PublicSubject | None:
    with get_read_engine().connect() as connection:
        return view.public_subject(connection, key, today)


def _names() -> view.Names:
    with get_read_engine().connect() as connection:
        return view.names(connection)


async def public_subject(pool: AsyncPool | None, key: str, today: date) -> view.PublicSubject | None:
    """The subject's public face; `pool`: the app's read pool on PostgreSQL, None elsewhere."""
    if pool is None:
        return await run_in_threadpool(_sync_lookup, key, today)
    cached = catalog.cached_names()
    known = view.Names(*cached) if cached is not None else await run_in_threadpool(_names)
    lookup = view.lookup_statement(key)
    if lookup is None:
        return None
    statement, params = lookup
    sql, defaults = compiled(statement)

    async def rows(connection: Any) -> list[tuple[Any, ...]]:
        cursor = await connection.execute(sql, defaults | params | {"today": today})
        return list(await cursor.fetchall())

    return view.from_rows(await pool.run(rows), known)
