"""A real server for the tests that need one: `registry serve` in a process of its own, as operators
start it (its uvicorn arguments, protocol and timeouts included), over the test database."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def registry_serve(*options: str, output: list[str] | None = None, **settings: str) -> Iterator[str]:
    """`registry serve OPTIONS` with these REGISTRY_* settings on top of the tests' own; yields the
    base URL. `output`, when given, receives the lines the server wrote once it has stopped."""
    port = free_port()
    env = os.environ | {
        "REGISTRY_HOST": "127.0.0.1",
        "REGISTRY_PORT": str(port),
        "REGISTRY_LOG_LEVEL": "WARNING",
        "REGISTRY_SWEEP_INTERVAL_SECONDS": "0",
    }
    env |= {f"REGISTRY_{name.upper()}": value for name, value in settings.items()}
    registry = Path(sys.executable).parent / "registry"
    with tempfile.TemporaryFile() as log:
        command = [registry, "serve", *options]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"registry serve did not start:\n{log.read().decode()[-3000:]}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if output is not None:
                log.seek(0)
                output.extend(log.read().decode(errors="replace").splitlines())
