"""Waking this process's delivery worker when a transaction that wrote outbox rows or deliveries
commits, instead of waiting for its next look (other processes' workers find them at theirs)."""

import asyncio
from contextlib import suppress

from sqlalchemy import event
from sqlalchemy.orm import Session

_loop: asyncio.AbstractEventLoop | None = None
_event: asyncio.Event | None = None


def after_commit(session: Session) -> None:
    """Wake the worker once `session`'s transaction commits (nothing if it rolls back)."""
    event.listen(session, "after_commit", lambda _: _wake(), once=True)


def _wake() -> None:
    loop, woken = _loop, _event
    if loop is not None and woken is not None and not loop.is_closed():
        with suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(woken.set)


async def wait(seconds: float) -> None:
    """Sleep up to `seconds`, or until a commit wakes this worker."""
    global _loop, _event
    if _event is None or _loop is not asyncio.get_running_loop():
        _loop, _event = asyncio.get_running_loop(), asyncio.Event()
    with suppress(TimeoutError):
        await asyncio.wait_for(_event.wait(), seconds)
    _event.clear()
