"""What every suite needs: the real server as a subprocess, throwaway databases, results on disk.

Everything here is bounded: the server is waited for with a deadline and always stopped, requests
and subprocesses carry timeouts, temporary directories and databases are removed on the way out.
"""

import contextlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / ".venv" / "bin" / "registry"
RESULTS_DIR = ROOT / "bench-results"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# Extra options for every `registry serve` of a run, e.g. "--loop asyncio --http h11" to measure the
# pure-Python stack against the same yardstick.
SERVE_ARGS_ENV = "REGISTRY_BENCH_SERVE_ARGS"


class BenchFailure(Exception):
    """The benchmark could not run or its answers were wrong; str() says what happened."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop the server and drop databases."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the server ------------------------------------------------------------------------------------


@dataclass
class RegistryServer:
    """`registry serve` on a free loopback port, with its own database and data directory."""

    database_url: str
    data_dir: Path
    workers: int = 1
    ready_timeout: float = 90.0
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)  # REGISTRY_* settings for this run
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def env(self) -> dict[str, str]:
        # Inherited REGISTRY_* settings must not leak in (they could point at a real database).
        env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
        return (
            env
            | {
                "REGISTRY_DATABASE_URL": self.database_url,
                "REGISTRY_DATA_DIR": str(self.data_dir),
                "REGISTRY_HOST": "127.0.0.1",
                "REGISTRY_PORT": str(self.port),
                "REGISTRY_ENVIRONMENT": "development",
                "PYTHONUNBUFFERED": "1",
            }
            | self.extra_env
        )

    def __enter__(self) -> "RegistryServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        with self.log_path.open("wb") as server_log:
            self.process = subprocess.Popen(
                [str(REGISTRY), "serve", "--workers", str(self.workers), *serve_args()],
                cwd=self.data_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches any worker it forks
            )
        deadline = time.monotonic() + self.ready_timeout
        last_answer = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchFailure(
                        f"registry serve exited with {self.process.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    answer = client.get("/readyz")
                    if answer.status_code == 200:
                        return
                    last_answer = f"{answer.status_code} {answer.text[:200]}"
                except httpx.TransportError as exc:
                    last_answer = type(exc).__name__
                time.sleep(0.2)
        raise BenchFailure(
            f"registry serve not ready after {self.ready_timeout:.0f}s ({last_answer}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def exit_note(self) -> str:
        """Says whether the server process has died (and how), for failure messages."""
        code = self.process.poll() if self.process is not None else None
        if code is None:
            return "the server was still running"
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        return f"the server process had ended ({how}) before the bench stopped it"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def cli(self, *args: str, timeout: float = 120.0) -> str:
        """Run `registry ARGS...` against this server's database; returns its standard output."""
        try:
            done = subprocess.run(
                [str(REGISTRY), *args],
                cwd=self.data_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchFailure(f"registry {' '.join(args)} took more than {timeout:.0f}s") from None
        if done.returncode != 0:
            raise BenchFailure(f"registry {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def client_token(self, agency: str, scopes: Sequence[str]) -> str:
        """Create an API client with the CLI and exchange its credentials for an access token."""
        scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
        created = json.loads(self.cli("clients", "create", "--agency", agency, *scope_args, "--json"))
        with httpx.Client(base_url=self.base_url, timeout=30.0) as client:
            answer = client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": created["client_id"],
                    "client_secret": created["client_secret"],
                },
            )
        if answer.status_code != 200:
            raise BenchFailure(f"POST /v1/auth/token answered {answer.status_code}: {answer.text[:300]}")
        return str(answer.json()["access_token"])


def serve_args() -> list[str]:
    return shlex.split(os.environ.get(SERVE_ARGS_ENV, ""))


def fastest_stack() -> tuple[str, str]:
    """uvicorn's (loop, http) at their fastest here: uvloop and httptools when installed."""
    found = {name: importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools")}
    return ("uvloop" if found["uvloop"] else "asyncio", "httptools" if found["httptools"] else "h11")


@dataclass
class BareServer:
    """The yardstick (scripts/benchmarks/bare_app.py) on uvicorn, one process, the fastest stack
    (one write per answer, as the registry's own serving).

    Its GET /ping is what a FastAPI endpoint answers at best on this machine in this run: the
    registry's own ping is read against it (ping ÷ bare), and it stands for the framework in the
    ceiling of a database-backed endpoint, 1 / (1/bare + 1/raw driver).
    """

    ready_timeout: float = 30.0
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    stack: tuple[str, str] = field(default_factory=fastest_stack)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ping"

    def __enter__(self) -> "BareServer":
        loop, http = self.stack
        command = [sys.executable, "-m", "scripts.benchmarks.bare_app", str(self.port), loop, http]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    self.process = None
                    raise BenchFailure(f"the bare FastAPI app exited before it was ready:\n{error}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.url).status_code == 200:
                        log(f"bare FastAPI app on uvicorn ({loop}, {http}, one write) at {self.url}")
                        return self
                time.sleep(0.1)
        self.__exit__()
        raise BenchFailure(f"the bare FastAPI app was not ready after {self.ready_timeout:.0f}s")

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def ceiling(bare_per_s: float, raw_per_s: float) -> float:
    """What an endpoint making one such query could answer at best: framework and driver in series."""
    return 1 / (1 / bare_per_s + 1 / raw_per_s)


# --- PostgreSQL ------------------------------------------------------------------------------------


def libpq_url(sqlalchemy_url: str, database: str | None = None) -> str:
    """postgresql+psycopg://... (SQLAlchemy) -> postgresql://... (psycopg), optionally another database."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def with_database(sqlalchemy_url: str, database: str) -> str:
    return make_url(sqlalchemy_url).set(database=database).render_as_string(hide_password=False)


def _postgres_answers(server_url: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        with psycopg.connect(libpq_url(server_url, "postgres"), connect_timeout=5) as connection:
            connection.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def ensure_postgres(server_url: str) -> None:
    """Reach the PostgreSQL server; if it is the local cluster and down, start it once."""
    reason = _postgres_answers(server_url)
    if reason is None:
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not (shutil.which("pg_ctlcluster") and versions):
        raise BenchFailure(f"PostgreSQL at {server_url} is unreachable: {reason}")
    log(f"PostgreSQL unreachable ({reason}); starting the local cluster {versions[-1]}/main")
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reason = _postgres_answers(server_url)
        if reason is None:
            return
        time.sleep(0.5)
    raise BenchFailure(f"PostgreSQL at {server_url} is still unreachable after starting it: {reason}")


def _admin(server_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(server_url, "postgres"), autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh database NAME on the server, dropped on the way out; yields its SQLAlchemy URL."""
    with _admin(server_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        try:
            with _admin(server_url) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error as exc:
            log(f"could not drop database {name}: {exc}")


def analyze(database_url: str) -> None:
    """Fresh planner statistics after a load, as autovacuum gathers them within a minute or so in a
    normal deployment. This machine's PostgreSQL runs with autovacuum off (conf.d/90-ci.conf): a
    suite that pushed thousands of rows through the API and went on at once would otherwise measure
    plans made for empty tables (a watchlist of 100,000 read its subjects with a nested loop over
    every record: minutes instead of seconds)."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(make_url(database_url).database or "") as connection:
            connection.execute("ANALYZE")
        return
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute("ANALYZE")


def postgres_version(server_url: str) -> str:
    with psycopg.connect(libpq_url(server_url, "postgres"), connect_timeout=5) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --- results ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or None,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_results(suite: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{suite}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, numbers right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * width for width in widths), *map(line, rows)])
