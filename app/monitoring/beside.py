"""The delivery worker in a process of its own beside the servers, as `registry serve` runs it on
PostgreSQL (REGISTRY_DELIVERY_WORKER=process, the default there).

Why: in a server process, making and sending alerts takes the interpreter from the pushes — at
10,000 watched records pushed in batches of 500 on two cores, the pushes ran about twice as long;
beside them, at a lower CPU priority, 5-21 % longer, the alerts a second or so later (docs/benchmarks.md,
"Monitoring"). The process is `registry deliveries run`: started once the database is migrated,
started again a second after it stops unexpectedly, stopped with the server, and it ends by
itself within a second when the server is gone without stopping it (killed)."""

import logging
import os
import subprocess
import sys
import threading
import time

log = logging.getLogger("registry.deliveries")

RESTART_AFTER_SECONDS = 1.0


class WorkerBeside:
    """`registry deliveries run --poll POLL --with-server <this pid>`, kept running until `stop()`."""

    def __init__(self, poll_seconds: float) -> None:
        self.command = [
            sys.executable,
            "-m",
            "app.cli",
            *("deliveries", "run", "--poll", str(poll_seconds), "--with-server", str(os.getpid())),
        ]
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # no new process once stopping
        self.process = self._start()
        self._keeper = threading.Thread(target=self._keep_up, name="delivery-worker-keeper", daemon=True)
        self._keeper.start()

    def _start(self) -> "subprocess.Popen[bytes]":
        # Its own process group: a Ctrl-C in the terminal stops the server, which then stops the
        # worker. Not its own session: Linux shares the CPU between sessions (autogroups) before
        # priorities count, and the worker's lower priority would then weigh nothing.
        return subprocess.Popen(self.command, process_group=0 if os.name == "posix" else None)

    def _keep_up(self) -> None:
        while True:
            code = self.process.wait()
            if self._stopping.wait(RESTART_AFTER_SECONDS):
                return
            log.warning("the delivery worker ended (exit status %s); starting it again", code)
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop it (its deliveries in flight stay leased and go out after the lease) and wait."""
        with self._lock:
            self._stopping.set()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._keeper.join(RESTART_AFTER_SECONDS + 1)


def stop_with_server(server_pid: int) -> None:
    """In the worker: end the process when the server that started it is gone (its parent changes:
    the server was killed without stopping it)."""

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(1.0)
        log.warning("the server that started this delivery worker is gone: stopping")
        os._exit(0)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()
