"""The public identifier lookup: one query, on the event loop over the app's async pool on
PostgreSQL (no threadpool hop, no ORM), on the engine in a worker thread elsewhere. Both run the
statement app.public.view builds and shape the rows with the same function.
"""

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import postgresql
from starlette.concurrency import run_in_threadpool

from app.db import get_read_engine
from app.db.asyncpool import AsyncPool
from app.public import view


@lru_cache
def _compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """SQL text for psycopg and the literal parameters (the caller adds identifier/ref and today)."""
    placeholders = {"today": None, "identifier": None, "ref": None}
    compiled = statement.params(placeholders).compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


def _sync_rows(key: str, today: date) -> list[Any]:
    statement, params = view.lookup_statement(key)
    with get_read_engine().connect() as connection:
        return list(connection.execute(statement, params | {"today": today}))


async def public_subject(pool: AsyncPool | None, key: str, today: date) -> view.PublicSubject | None:
    """The subject's public face; `pool`: the app's read pool on PostgreSQL, None elsewhere."""
    if pool is None:
        return view.from_rows(await run_in_threadpool(_sync_rows, key, today))
    statement, params = view.lookup_statement(key)
    sql, defaults = _compiled(statement)

    async def rows(connection: Any) -> list[tuple[Any, ...]]:
        cursor = await connection.execute(sql, defaults | params | {"today": today})
        return list(await cursor.fetchall())

    return view.from_rows(await pool.run(rows))
