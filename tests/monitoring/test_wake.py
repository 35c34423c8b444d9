"""Workers in other processes woken by PostgreSQL's notifications: the outbox and the deliveries
notify as their transaction commits (never when it rolls back), so a worker in a process of its own
starts at once rather than at its next poll."""

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, insert

from app.db import get_engine, session_scope
from app.kit.clock import utcnow
from app.monitoring import wake
from app.monitoring.models import Delivery, WatchChange, Watchlist
from tests.monitoring.helpers import approver, push, wait_for, watch
from tests.monitoring.receiver import Receiver
from tests.ops.servers import registry_serve

pytestmark = pytest.mark.skipif(
    get_engine().dialect.name != "postgresql", reason="SQLite has one process: nothing to notify"
)
SECRET = "wake-secret-0123456789"


def _outbox_row(commit: bool) -> None:
    with session_scope() as session:
        session.execute(insert(WatchChange).values(audit_seq=0, events="[]", created_at=utcnow()))
        if not commit:
            session.rollback()


def _delivery_row() -> None:
    watchlist_id, now = uuid.uuid4(), utcnow()
    with session_scope() as session:
        session.add(
            Watchlist(id=watchlist_id, agency_code="x", client_id="x", name="x", action="x", created_at=now)
        )
        session.flush()
        values = {
            "watchlist_id": watchlist_id,
            "alert_id": uuid.uuid4(),
            "status": "delivered",
            "attempts": 0,
        }
        session.execute(
            insert(Delivery).values(id=uuid.uuid4(), next_attempt_at=now, created_at=now, **values)
        )
    with session_scope() as session:
        session.execute(delete(Delivery).where(Delivery.watchlist_id == watchlist_id))
        session.execute(delete(Watchlist).where(Watchlist.id == watchlist_id))


def test_commits_of_another_connection_wake_the_worker_and_rollbacks_do_not():
    url = get_engine().url.render_as_string(hide_password=False)

    async def scenario() -> list[bool]:
        listening = asyncio.create_task(wake.listen(url))
        try:
            # The listener wakes both once it listens (what came before is looked at then).
            assert await wake.wait(10, wake.MAKER) and await wake.wait(10, wake.SENDER)
            seen = []
            await asyncio.to_thread(_outbox_row, commit=False)
            seen.append(await wake.wait(1.0, wake.MAKER))
            await asyncio.to_thread(_outbox_row, commit=True)
            seen.append(await wake.wait(10, wake.MAKER))
            await asyncio.to_thread(_delivery_row)
            seen.append(await wake.wait(10, wake.SENDER))
            return seen
        finally:
            listening.cancel()

    try:
        assert asyncio.run(scenario()) == [False, True, True]
    finally:
        with session_scope() as session:
            session.execute(delete(WatchChange).where(WatchChange.audit_seq == 0))


def test_a_server_s_worker_delivers_a_change_another_process_committed_without_polling(
    http, police, token_for
):
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        # The server's worker would look only every 60 s by itself; this process pushes (its own
        # worker is off in the tests): the server makes the alert and sends it at once.
        with registry_serve(delivery_poll_seconds="60", webhook_timeout_seconds="5"):
            time.sleep(1.0)  # past the worker's first look
            _watch_push_and_receive(http, police, token_for, receiver)
    finally:
        receiver.stop()


def _watch_push_and_receive(http, police, token_for, receiver: Receiver) -> None:
    """A watched company listed by this process: its alert reaches the receiver, once."""
    watch(http, approver(token_for), 1, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    assert wait_for(receiver.acknowledged, 20)
    assert len(receiver.acknowledged()) == 1


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: its parent and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
            found[int(entry.name)] = (parent, command)
    return found


def _workers_beside() -> dict[int, int]:
    """The delivery workers `registry serve` started beside itself: pid -> the server's pid."""
    return {
        pid: parent
        for pid, (parent, command) in _processes().items()
        if "deliveries run" in command and "--with-server" in command
    }


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the processes in /proc")
def test_the_server_runs_its_delivery_worker_beside_it_and_keeps_it_up(http, police, token_for):
    # On PostgreSQL `registry serve` runs the delivery worker as a process of its own (the pushes
    # keep the server's interpreter), starts it again when it ends, and stops it with the server.
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        with registry_serve(delivery_poll_seconds="60"):
            assert wait_for(_workers_beside)
            ((first, server),) = _workers_beside().items()
            assert "serve" in _processes()[server][1]
            os.kill(first, signal.SIGKILL)
            assert wait_for(lambda: set(_workers_beside()) not in (set(), {first}))
            ((second, _),) = _workers_beside().items()
            assert second != first
            time.sleep(2.0)  # the new worker up and listening
            _watch_push_and_receive(http, police, token_for, receiver)
        assert wait_for(lambda: not _workers_beside(), 5)  # stopped with the server
    finally:
        receiver.stop()
