"""A small pool of async psycopg connections for the paths that run on the event loop (PostgreSQL).

The app opens one pool for the primary (and one for the read replica, when configured) in its
lifespan and closes them on shutdown; approvers' checks and the public lookup share them. psycopg's
async connections belong to the event loop that opened them: a server has one loop per process,
and a pool used from another loop (a test's own) keeps that loop's connections apart.

Connection budget per worker process: POOL_SIZE async connections per pool (two pools with a
replica), plus the synchronous engine's pool (app.db.session: 10, overflowing to 30) for the
threadpool's requests. With N workers: N × (POOL_SIZE + 30) connections at most on the primary;
PostgreSQL's max_connections (default 100) must leave room for that.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import make_url

from app.db.session import CLIENT_ENCODING

POOL_SIZE = 8
Result = TypeVar("Result")


class AsyncPool:
    """`await pool.run(work)`: `work(connection)` on an autocommit connection of the pool. A
    connection that raised is closed rather than reused; one that had sat idle and turns out dead
    (the server restarted, or dropped it) is replaced and the work tried once more on a new one, so
    that a dropped connection costs no request an error."""

    def __init__(self, database_url: str, size: int = POOL_SIZE) -> None:
        self.conninfo = (
            make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.size = size
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            weakref.WeakKeyDictionary()
        )

    def _here(self) -> "_LoopConnections":
        loop = asyncio.get_running_loop()
        here = self._loops.get(loop)
        if here is None:
            here = self._loops[loop] = _LoopConnections(asyncio.Semaphore(self.size), [])
        return here

    async def run(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[Result]]) -> Result:
        here = self._here()
        async with here.slots:
            connection, reused = await self._take(here)
            try:
                result = await work(connection)
            except psycopg.OperationalError:
                await _close(connection)
                if not reused:
                    raise
                await _close_all(here)  # dropped with it, most likely
                connection, _ = await self._take(here)
                try:
                    result = await work(connection)
                except BaseException:
                    await _close(connection)
                    raise
            except BaseException:
                await _close(connection)
                raise
            here.idle.append(connection)
            return result

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for work that cannot be retried as a whole; closed if it raises."""
        here = self._here()
        async with here.slots:
            connection, _ = await self._take(here)
            try:
                yield connection
            except BaseException:
                await _close(connection)
                raise
            here.idle.append(connection)

    async def close(self) -> None:
        """Close this loop's idle connections (on shutdown)."""
        await _close_all(self._here())

    async def _take(self, here: "_LoopConnections") -> tuple[psycopg.AsyncConnection[Any], bool]:
        """An idle connection (reused: True), else a new one; the caller holds a slot."""
        while here.idle:
            connection = here.idle.pop()
            if not connection.closed:
                return connection, True
        connection = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, prepare_threshold=0, client_encoding=CLIENT_ENCODING
        )
        return connection, False


@dataclass
class _LoopConnections:
    slots: asyncio.Semaphore  # connections in use or being opened
    idle: list[psycopg.AsyncConnection[Any]]


async def _close_all(here: _LoopConnections) -> None:
    idle, here.idle = here.idle, []
    for connection in idle:
        await _close(connection)


async def _close(connection: psycopg.AsyncConnection[Any]) -> None:
    with suppress(Exception):  # already broken: nothing more to release
        await connection.close()
