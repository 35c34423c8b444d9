"""PostgreSQL's notifications (LISTEN/NOTIFY), for waiting on other processes' commits."""

from collections.abc import AsyncIterator, Iterable

import psycopg
from sqlalchemy.engine import make_url

from app.db.session import CLIENT_ENCODING

LOST = (psycopg.Error, OSError)  # what a dropped connection raises from `notifications`


async def notifications(database_url: str, channels: Iterable[str]) -> AsyncIterator[str]:
    """The channel of each notification a committed transaction sent to `channels`, as it arrives;
    first each channel once, as soon as it is listened to (what was committed before is to be looked
    at then). Ends by raising one of LOST when the connection is."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, client_encoding=CLIENT_ENCODING
    ) as connection:
        listened = list(channels)
        for channel in listened:
            await connection.execute(f"LISTEN {channel}")
        for channel in listened:
            yield channel
        async for note in connection.notifies():
            yield note.channel
