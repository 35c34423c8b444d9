"""The checks' read of a subject's records in force is planned for each read, never prepared: a
generic plan kept from when the tables were nearly empty made some workers' reads 600 times slower
as they grew (app/checks/store.py; found with `scripts/bench soak`)."""

import asyncio
from datetime import date

import pytest

from app.checks.store import PostgresTransport
from app.config import get_settings
from app.db import get_engine
from app.db.asyncpool import AsyncPool
from app.db.session import make_engine
from app.records import repository
from tests.conftest import make_uscc

pytestmark = pytest.mark.skipif(get_engine().dialect.name != "postgresql", reason="PostgreSQL's planner")


def test_the_in_force_read_is_never_kept_as_a_prepared_statement(http, police):
    async def read_often() -> list[str]:
        pool = AsyncPool(get_settings().resolved_database_url, size=1)  # one connection: the same
        transport = PostgresTransport(pool)
        try:
            for n in range(1, 12):
                await transport.read_today(date.today(), [make_uscc(n)])

            async def prepared(connection) -> list[str]:
                cursor = await connection.execute("SELECT statement FROM pg_prepared_statements")
                return [row[0] for row in await cursor.fetchall()]

            return await pool.run(prepared)
        finally:
            await pool.close()

    assert not [statement for statement in asyncio.run(read_often()) if "subjects.identifier" in statement]


def test_the_engines_in_force_read_of_many_is_never_kept_as_a_prepared_statement(http, police):
    """The same read through the engine (watchlists, the alert maker): many identifiers at a time. On
    an engine of its own, so that its one connection has run these reads alone (a pooled one may
    have prepared other statements on subjects for earlier tests)."""
    engine = make_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as connection:
            for n in range(1, 12):
                repository.read_in_force(connection, [make_uscc(n), make_uscc(n + 100)], date.today())
            prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").all()
    finally:
        engine.dispose()
    assert not [row[0] for row in prepared if "subjects.identifier" in row[0]]
