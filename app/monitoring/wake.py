"""Waking a process's delivery worker when there is work, instead of waiting for its next look.

Two wakers, one per kind of work (MAKER: outbox rows to make alerts of; SENDER: deliveries to send):
- in this process, a commit of a transaction that wrote them (`after_commit`);
- from any process, PostgreSQL's notifications: the outbox and the deliveries table notify a channel
  when a transaction inserting into them commits (migration worker_notify; nothing for one that rolls
  back), and `listen` wakes this process's worker on them. A worker in a process of its own
  (`registry deliveries run`) or in another server process so starts at once, not at its next poll.
The poll stays as the fallback (a notification lost with a dropped connection, SQLite)."""

import asyncio
import logging
from contextlib import suppress

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.db.notifications import LOST, notifications

MAKER = "maker"
SENDER = "sender"
CHANNELS = {"registry_maker": MAKER, "registry_sender": SENDER}  # as migration worker_notify names them
RECONNECT_SECONDS = 5.0

log = logging.getLogger("registry.deliveries")

_loop: asyncio.AbstractEventLoop | None = None
_events: dict[str, asyncio.Event] = {}


def after_commit(session: Session, who: str = SENDER) -> None:
    """Wake `who` once `session`'s transaction commits (nothing if it rolls back)."""
    event.listen(session, "after_commit", lambda _: _wake(who), once=True)


def notify_others(session: Session, who: str) -> None:
    """Wake `who` in every process once `session`'s transaction commits, for a change the tables'
    own notifications do not cover (an update; PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        channel = next(channel for channel, woken in CHANNELS.items() if woken == who)
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def _wake(who: str) -> None:
    loop, woken = _loop, _events.get(who)
    if loop is not None and woken is not None and not loop.is_closed():
        with suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(woken.set)


def _event(who: str) -> asyncio.Event:
    """`who`'s event on the running loop (a new loop, as in tests, starts afresh)."""
    global _loop
    if _loop is not asyncio.get_running_loop():
        _loop = asyncio.get_running_loop()
        _events.clear()
    return _events.setdefault(who, asyncio.Event())


def now(who: str) -> None:
    """Wake `who` (from a coroutine on the workers' loop)."""
    _event(who).set()


async def wait(seconds: float, who: str = SENDER) -> bool:
    """Sleep up to `seconds`, or until a commit wakes `who`; whether it was woken."""
    woken = _event(who)
    try:
        await asyncio.wait_for(woken.wait(), seconds)
    except TimeoutError:
        return False
    finally:
        woken.clear()
    return True


async def listen(database_url: str) -> None:
    """Wake this process's workers on other processes' commits (PostgreSQL), until cancelled; a lost
    connection is made again after RECONNECT_SECONDS. Both workers look once each time it starts
    listening: what was committed while it was not is found then."""
    while True:
        try:
            async for channel in notifications(database_url, CHANNELS):
                _event(CHANNELS[channel]).set()
        except LOST as exc:
            log.warning("listening for deliveries' work failed (%s); polling until it is back", exc)
        await asyncio.sleep(RECONNECT_SECONDS)
