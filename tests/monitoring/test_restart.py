"""The server's own delivery worker, across a restart: alerts made while the receiver was down and
the server then stopped are delivered by the server started again (the outbox is in the database)."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.db import session_scope
from app.monitoring.models import Delivery
from tests.monitoring.helpers import approver, make_alerts, push, wait_for, watch
from tests.monitoring.receiver import Receiver
from tests.ops.servers import registry_serve

SECRET = "restart-secret-0123456789"


def _deliveries() -> list[Delivery]:
    with session_scope(writing=False) as session:
        return list(session.scalars(select(Delivery)).all())


def test_alerts_survive_a_server_restart(http, police, token_for):
    receiver = Receiver(SECRET)
    headers = approver(token_for)
    watch(http, headers, 1, 2, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    push(http, police, 2)
    assert make_alerts() == 2  # the alerts and their deliveries, as a worker makes them
    # The suite's clock runs from its own day; the servers started here run on the real one: the
    # deliveries are dated by it, else they would be past their 24 hours at once.
    with session_scope() as session:
        real_now = datetime.now(UTC)
        session.execute(update(Delivery).values(created_at=real_now, next_attempt_at=real_now))
    settings = {"delivery_poll_seconds": "0.2", "webhook_timeout_seconds": "1"}
    with registry_serve(**settings):  # the receiver is down: attempts fail, nothing is lost
        assert wait_for(lambda: all(d.attempts >= 1 for d in _deliveries()))
    assert {d.status for d in _deliveries()} == {"pending"}
    receiver.start()
    try:
        with registry_serve(**settings):
            assert wait_for(lambda: {d.status for d in _deliveries()} == {"delivered"})
        delivered = sorted(str(d.id) for d in _deliveries())
        assert sorted(receiver.acknowledged()) == delivered
        assert all(r.signature_ok for r in receiver.received)
    finally:
        receiver.stop()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the priority from /proc")
def test_a_worker_of_its_own_yields_the_cpu_to_the_servers_by_default():
    # `registry deliveries run` is background work: it lowers its own priority (10 by default), so
    # that on a shared machine the pushes and checks go first; --nice 0 leaves it as started.
    registry = Path(sys.executable).parent / "registry"

    def niceness(*options: str) -> int:
        """The worker's priority relative to this process's, once it has lowered it (or after 5 s
        for one that does not)."""
        worker = subprocess.Popen([registry, "deliveries", "run", "--poll", "60", *options])
        try:
            stat = Path(f"/proc/{worker.pid}/stat")
            deadline = time.monotonic() + 5
            while True:
                nice = int(stat.read_text().rsplit(")", 1)[1].split()[16])  # stat's 19th field
                if nice != os.nice(0) or time.monotonic() > deadline:
                    return nice - os.nice(0)
                time.sleep(0.1)
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    assert niceness() == 10
    assert niceness("--nice", "0") == 0
