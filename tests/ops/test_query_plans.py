"""PostgreSQL plans every execution of a prepared statement for its own parameters: a generic plan
kept from when the tables were nearly empty made checks' reads 600 times slower as they grew
(app.db.session, POSTGRES_OPTIONS; measured with `scripts/bench soak`)."""

import asyncio

import pytest
from sqlalchemy import text

from app.config import get_settings
from app.db import get_engine
from app.db.asyncpool import AsyncPool

pytestmark = pytest.mark.skipif(get_engine().dialect.name != "postgresql", reason="PostgreSQL's planner")


def test_the_engines_connections_plan_each_execution():
    with get_engine().connect() as connection:
        assert connection.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"


def test_the_async_pools_connections_plan_each_execution():
    async def asked() -> str:
        pool = AsyncPool(get_settings().resolved_database_url, size=1)
        try:

            async def show(connection) -> str:
                cursor = await connection.execute("SHOW plan_cache_mode")
                return str((await cursor.fetchone())[0])

            return await pool.run(show)
        finally:
            await pool.close()

    assert asyncio.run(asked()) == "force_custom_plan"
