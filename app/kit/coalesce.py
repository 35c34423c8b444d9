"""Concurrent callers' small database round trips, made one: natural batching, with no timer.

`await coalescer.submit(item)` hands the item to `run(items)`, which does the work for many items at
once and returns their results in order. While one run is in flight, the items that arrive wait, and
the next run takes all of them: under load each round trip serves many callers; a lone caller waits
for nothing more than its own run. A run that raises fails every caller of that run with the error.

Each event loop has its own queue (a run uses connections of its own loop's pool).
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Queue(Generic[Item, Result]):
    waiting: list[tuple[Item, "asyncio.Future[Result]"]] = field(default_factory=list)
    draining: "asyncio.Task[None] | None" = None


class Coalescer(Generic[Item, Result]):
    def __init__(self, run: Callable[[list[Item]], Awaitable[list[Result]]], max_items: int = 500) -> None:
        self.run = run
        self.max_items = max_items
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[Item, Result]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Result] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.draining is None:
            queue.draining = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue[Item, Result]) -> None:
        try:
            while queue.waiting:
                group = queue.waiting[: self.max_items]
                del queue.waiting[: self.max_items]
                try:
                    results = await self.run([item for item, _ in group])
                    if len(results) != len(group):
                        raise RuntimeError(f"{len(group)} items ran, {len(results)} results")
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled (its loop is closing): so are its callers
                    for _, future in group + queue.waiting:
                        future.cancel()
                    queue.waiting.clear()
                    raise
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():  # its caller may have gone (a client that hung up)
                        future.set_result(result)
        finally:
            queue.draining = None


class SingleFlight(Generic[Item, Result]):
    """Callers asking for the same key while its load runs share that one load instead of starting
    their own: when a cached value expires under load, one reload serves every request waiting for
    it, not one reload each. Per event loop, like the Coalescer; the key says what may be shared."""

    def __init__(self, load: Callable[[Item], Awaitable[Result]]) -> None:
        self.load = load
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Item, asyncio.Task[Result]]
        ] = weakref.WeakKeyDictionary()

    async def get(self, key: Item) -> Result:
        loop = asyncio.get_running_loop()
        flights = self._flights.setdefault(loop, {})
        task = flights.get(key)
        if task is None:
            task = flights[key] = loop.create_task(self._load(key))
            task.add_done_callback(lambda _: flights.pop(key, None))
        # One caller cancelled (its client went away) must not cancel the load the others await.
        return await asyncio.shield(task)

    async def _load(self, key: Item) -> Result:
        return await self.load(key)
