"""Per-process pools of async psycopg connections for the hot paths that run on the event loop.

The public lookup and the single check skip the ORM and the threadpool on PostgreSQL: each holds an
`AsyncPool` of a few autocommit connections. psycopg's async connections belong to the event loop
that opened them, so there is one small pool per loop.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

POOL_SIZE = 8


class _LoopPool:
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


class AsyncPool:
    """`async with pool.connection() as connection:` an autocommit connection of this event loop's
    pool; a connection that raised is closed rather than reused."""

    def __init__(self, database_url: str, size: int = POOL_SIZE) -> None:
        self.conninfo = (
            make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.size = size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _LoopPool(self.conninfo, self.size)
        connection = await pool.acquire()
        broken = True
        try:
            yield connection
            broken = False
        finally:
            await pool.release(connection, broken)
