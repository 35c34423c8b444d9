"""Waking this process's worker when a transaction that wrote outbox rows (the alert maker's work)
or deliveries (the sender's) commits, instead of waiting for its next look (other processes'
workers find them at theirs)."""

import asyncio
from contextlib import suppress

from sqlalchemy import event
from sqlalchemy.orm import Session

MAKER = "maker"
SENDER = "sender"

_loop: asyncio.AbstractEventLoop | None = None
_events: dict[str, asyncio.Event] = {}


def after_commit(session: Session, who: str = SENDER) -> None:
    """Wake `who` once `session`'s transaction commits (nothing if it rolls back)."""
    event.listen(session, "after_commit", lambda _: _wake(who), once=True)


def _wake(who: str) -> None:
    loop, woken = _loop, _events.get(who)
    if loop is not None and woken is not None and not loop.is_closed():
        with suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(woken.set)


async def wait(seconds: float, who: str = SENDER) -> None:
    """Sleep up to `seconds`, or until a commit wakes `who`."""
    global _loop
    if _loop is not asyncio.get_running_loop():
        _loop = asyncio.get_running_loop()
        _events.clear()
    woken = _events.setdefault(who, asyncio.Event())
    with suppress(TimeoutError):
        await asyncio.wait_for(woken.wait(), seconds)
    woken.clear()
