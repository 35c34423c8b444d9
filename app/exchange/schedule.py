"""When the extracts are made: every process looks, every sweep interval, whether a day's extracts
are due (the day is over, China time) and makes them; days missed while no process ran are made in
order when one runs again. Several processes may look at once: one makes them (app.exchange.extracts
holds the lock), the others find them made or the lock taken and look again next time.
"""

import asyncio
import logging
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from app.db import session_scope
from app.exchange import extracts

log = logging.getLogger("registry.extracts")


def make_due(root: Path | None = None, *, wait: bool = False) -> list[extracts.Made]:
    """Make every day's extracts now due, oldest first, each day in its own transaction. Stops when
    another process holds the lock (it is making them), unless `wait`."""
    with session_scope(writing=False) as session:
        days = extracts.due_days(session)
    done = []
    for day in days:
        with session_scope() as session:
            made = extracts.make_extracts(session, day, root=root, wait=wait)
        if made is None:
            break
        done.append(made)
        if made.made_now:
            log.info("extracts of %s made: %s", day, {e.kind: e.count for e in made.extracts})
    return done


async def make_forever(interval: int) -> None:
    """The background task of each server process (app.main's lifespan)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(make_due)
        except Exception:  # logged; the next look tries again (a broken chain waits for the operator)
            log.exception("daily extracts failed")
