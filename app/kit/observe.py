"""Per-request observation: a request id, one JSON log line, Prometheus counters and latencies.

The request id comes from the caller's X-Request-ID when it is sane, else is made here; it is sent
back in the response and put on every log line written while the request runs.

Kept cheap, as it runs on every request: the log lines are written by a thread of their own
(OffPathHandler, started and stopped with the application), the access lines handed to it a burst
at a time rather than one by one (every hand-over between two threads costs both of them), the
counters are plain integers in tables keyed by route template (RequestMetrics, read by Prometheus
through a collector), and a request id is a process prefix and a counter rather than a fresh uuid4.
"""

import asyncio
import bisect
import contextvars
import itertools
import json
import logging
import logging.config
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import orjson
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.masking import mask_resident_ids

CHECKS = Counter("registry_checks_total", "Approver checks answered and recorded", ["decision"])
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("registry.access")
INFO = logging.INFO
# A request this slow is worth a look whatever its status: its log line is never dropped.
SLOW_SECONDS = 1.0

# --- request ids ----------------------------------------------------------------------------------


def _new_prefix() -> str:
    # 48 random bits per process: two workers (or a restarted one) drawing the same prefix is a
    # one-in-10^14 event; within a process the counter never repeats.
    return os.urandom(6).hex() + "-"


_prefix = _new_prefix()
_counter = itertools.count(1)


def _after_fork() -> None:
    global _prefix, _counter
    _prefix, _counter = _new_prefix(), itertools.count(1)


os.register_at_fork(after_in_child=_after_fork)


def new_request_id() -> str:
    """Unique across processes and restarts: the process's random prefix and its request counter."""
    return f"{_prefix}{next(_counter):x}"


# --- metrics --------------------------------------------------------------------------------------

# Prometheus's default latency buckets (seconds), as the Histogram used here before.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


class _RouteFigures:
    """The counts of one (route template, method): answers by status, latencies by bucket."""

    __slots__ = ("buckets", "seconds", "statuses")

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one: above every bound (+Inf only)
        self.seconds = 0.0


class RequestMetrics(Collector):
    """registry_requests_total{method,route,status} and registry_request_seconds{method,route}.

    A request finds its table by template and method (made on the route's first request) and adds
    to integers there: no labels looked up or locks taken per request. Prometheus reads the tables
    when /metrics is asked for.
    """

    def __init__(self) -> None:
        self._routes: dict[str, dict[str, _RouteFigures]] = {}

    def observe(self, method: str, template: str, status: int, seconds: float) -> None:
        methods = self._routes.get(template)
        if methods is None:
            methods = self._routes[template] = {}
        figures = methods.get(method)
        if figures is None:
            figures = methods[method] = _RouteFigures()
        statuses = figures.statuses
        statuses[status] = statuses.get(status, 0) + 1
        figures.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        figures.seconds += seconds

    def collect(self) -> Iterator[Any]:
        labels = ["method", "route", "status"]
        requests = CounterMetricFamily("registry_requests", "HTTP requests", labels=labels)
        latency = HistogramMetricFamily(
            "registry_request_seconds", "HTTP request latency", labels=["method", "route"]
        )
        for template, methods in list(self._routes.items()):
            for method, figures in list(methods.items()):
                for status, count in list(figures.statuses.items()):
                    requests.add_metric([method, template, str(status)], count)
                cumulative, buckets = 0, []
                for bound, count in zip((*BUCKETS, float("inf")), figures.buckets, strict=True):
                    cumulative += count
                    buckets.append((floatToGoString(bound), cumulative))
                latency.add_metric([method, template], buckets, figures.seconds)
        yield requests
        yield latency


METRICS = RequestMetrics()
REGISTRY.register(METRICS)

# --- logging --------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    _second: int = -1
    _second_text: str = ""

    def timestamp(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond; the second's text made once a second."""
        second = int(created)
        if second != self._second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second, self._second_text = second, text
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            # Stamped when the line was logged (OffPathHandler): this thread is not the request's.
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return self.dumps(entry)

    def access_line(self, entry: "AccessEntry") -> str:
        """The line format() makes of an access record, made from the request's figures directly."""
        created, rid, method, path, route, status, seconds, client = entry
        return self.dumps(
            {
                "ts": self.timestamp(created),
                "level": "info",
                "logger": access_log.name,
                "msg": "request",
                "request_id": rid,
                "method": method,
                "path": mask_resident_ids(path),  # see RequestObserver
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client,
            }
        )

    @staticmethod
    def dumps(entry: dict[str, Any]) -> str:
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # a key that is not a string, an integer beyond 64 bits
            return json.dumps(entry, ensure_ascii=False, default=str)


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines to a buffered stream and flushes it only when no more lines are waiting: one
    system call for a burst of lines rather than one per line (stderr is line-buffered)."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.waiting: Callable[[], bool] | None = None  # set while a writer thread feeds this handler

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            waiting = self.waiting
            if waiting is None or not waiting():
                self.flush()
        except Exception:
            self.handleError(record)

    def access_lines(self, entries: "Sequence[AccessEntry]") -> str:
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)
        end = self.terminator
        return "".join([formatter.access_line(entry) + end for entry in entries])

    def write_access(self, entries: "Sequence[AccessEntry]") -> None:
        self.write_lines(self.access_lines(entries))

    def write_lines(self, text: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(text)
            waiting = self.waiting
            if waiting is None or not waiting():
                self.stream.flush()


# (created, request id, method, path, route template, status, seconds, client address)
AccessEntry = tuple[float, str, str, str, str, int, float, str | None]


class AccessLines(NamedTuple):
    """Access lines formatted together, as they go to the writing thread."""

    number: int
    text: str


# How long lines gather before they are handed to the writing thread (and it, woken, waits for more).
GATHER_SECONDS = 0.01


class _Writer(logging.handlers.QueueListener):
    """The writing thread: records go to the handler, bursts of access entries straight to its
    stream.

    It takes lines as long as some are queued; once none is, it lets the next ones gather for
    GATHER_SECONDS before it waits for one. Woken for every line, it took the interpreter from the
    requests thousands of times a second (a ping served 7,300-7,700 times a second with the log
    on, 8,400-8,700 with it off); woken for a burst, that many lines cost one wake-up."""

    written = 0  # access entries written (this thread alone counts them)

    def dequeue(self, block: bool) -> Any:
        lines = cast("queue.SimpleQueue[Any]", self.queue)  # OffPathHandler's
        try:
            return lines.get_nowait()
        except queue.Empty:
            if not block:
                raise
        time.sleep(GATHER_SECONDS)
        return lines.get()

    def handle(self, record: Any) -> None:
        if type(record) is AccessLines:  # OffPathHandler.hand_over
            for handler in self.handlers:
                handler.write_lines(record.text)  # type: ignore[attr-defined]
            self.written += record.number
        else:
            super().handle(record)


def _kept(record: logging.LogRecord) -> bool:
    """Lines never dropped when the queue is full: warnings and errors, failed and slow requests."""
    if record.levelno >= logging.WARNING:
        return True
    fields = getattr(record, "fields", None)
    if not fields:
        return False
    return bool(fields.get("status", 0) >= 500 or fields.get("duration_ms", 0) >= SLOW_SECONDS * 1000)


class OffPathHandler(logging.handlers.QueueHandler):
    """Hands log lines to a thread that formats and writes them with `target`.

    Until the thread runs (start(); the application's lifespan does it) and after it stops, lines
    are written at once, so that nothing logged at startup or shutdown is lost. A queue grown past
    `capacity` (the output cannot keep up) drops ordinary access lines, counted in
    registry_log_lines_dropped_total, and writes the kept ones (see _kept) at once.
    """

    _lock = threading.Lock()

    def __init__(self, target: logging.Handler, capacity: int = 100_000) -> None:
        self.lines: queue.SimpleQueue[logging.LogRecord | AccessLines | None] = queue.SimpleQueue()
        super().__init__(self.lines)  # type: ignore[arg-type]  # SimpleQueue has what QueueHandler uses
        self.target = target
        self.capacity = capacity
        self.dropped = 0
        self._writer: _Writer | None = None
        # Access entries gathered on the event loop (offer_access), the hand-over planned for them,
        # and how many were handed to the writer so far (it counts those written: `written`).
        self._gathered: list[AccessEntry] = []
        self._hand_over_at: asyncio.TimerHandle | None = None
        self._hand_over_loop: asyncio.AbstractEventLoop | None = None
        self._handed = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # What must be read on the request's own thread: its id, the message's arguments, the
        # exception (its traceback would not outlive the request's frames usefully).
        record.request_id = request_id.get()
        if record.args:
            record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record

    def emit(self, record: logging.LogRecord) -> None:
        if self._writer is None:
            self.target.handle(record)
        elif self.lines.qsize() < self.capacity:
            super().emit(record)
        elif _kept(record):
            self.target.handle(self.prepare(record))
        else:
            self.dropped += 1

    def offer_access(self, entry: AccessEntry) -> None:
        """A request's access line, as its figures: gathered on the event loop, then formatted
        there with the others of the last GATHER_SECONDS and handed to the writing thread in one
        piece, which it only writes.

        Queued one by one and formatted by the thread, they cost a ping a quarter of its
        throughput though the thread used 4 % of a core: the event loop waited for the interpreter
        while the thread held it (formatting a burst), and each hand-over woke the thread
        (docs/benchmarks.md, "Access lines in bursts")."""
        if self._writer is None:
            self.target.write_access([entry])  # type: ignore[attr-defined]
            return
        self._gathered.append(entry)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on an event loop: no later to wait for
            self.hand_over()
            return
        if self._hand_over_at is not None and self._hand_over_loop is loop:
            return
        # None planned, or planned on a loop that is gone (its lines would wait for stop()).
        self._hand_over_loop = loop
        self._hand_over_at = loop.call_later(GATHER_SECONDS, self.hand_over)

    def hand_over(self) -> None:
        """Queue the gathered access entries for the writing thread (at once when it is not
        running). Past `capacity` lines waiting, ordinary lines are dropped (see _kept)."""
        self._hand_over_at = None
        entries, self._gathered = self._gathered, []
        if not entries:
            return
        writer = self._writer
        if writer is None:
            self.target.write_access(entries)  # type: ignore[attr-defined]
            return
        waiting = self._handed - writer.written
        if waiting + len(entries) > self.capacity:
            kept = [entry for entry in entries if entry[5] >= 500 or entry[6] >= SLOW_SECONDS]
            self.dropped += len(entries) - len(kept)
            if kept:
                self.target.write_access(kept)  # type: ignore[attr-defined]
            return
        self._handed += len(entries)
        text = self.target.access_lines(entries)  # type: ignore[attr-defined]
        self.lines.put_nowait(AccessLines(len(entries), text))

    def start(self) -> None:
        with self._lock:
            if self._writer is None:
                self._handed = 0
                self._writer = _Writer(
                    self.lines,  # type: ignore[arg-type]
                    self.target,
                    respect_handler_level=True,
                )
                if isinstance(self.target, BatchedStreamHandler):
                    self.target.waiting = self._waiting
                self._writer.start()

    def stop(self) -> None:
        """Write what is gathered and queued, then write at once again."""
        planned = self._hand_over_at
        if planned is not None:
            planned.cancel()  # its loop may be gone by now
        self.hand_over()
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()
            if isinstance(self.target, BatchedStreamHandler):
                self.target.waiting = None
            self.target.flush()

    def _waiting(self) -> bool:
        return self.lines.qsize() > 0  # stop() flushes after the last line

    def close(self) -> None:
        self.stop()  # replaced (logging reconfigured) or the process ending: write what is queued
        super().close()


def _off_path_handlers() -> list[OffPathHandler]:
    return [handler for handler in logging.getLogger().handlers if isinstance(handler, OffPathHandler)]


class _DroppedLines(Collector):
    def collect(self) -> Iterator[Any]:
        dropped = CounterMetricFamily(
            "registry_log_lines_dropped", "Access log lines dropped because the log output fell behind"
        )
        dropped.add_metric([], sum(handler.dropped for handler in _off_path_handlers()))
        yield dropped


REGISTRY.register(_DroppedLines())


def stderr_off_path() -> OffPathHandler:
    """The root handler of configure_logging: JSON lines on stderr, written off the request path."""
    # Not on the JSON lines, and looked up for every line: the thread's and the process's names.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Buffered (stderr itself is line-buffered): BatchedStreamHandler flushes after each burst.
    stream = open(  # noqa: SIM115  # lives as long as the process; fd 2 stays open
        sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False, errors="backslashreplace"
    )
    target = BatchedStreamHandler(stream)
    target.setFormatter(JsonFormatter())
    return OffPathHandler(target)


_direct: list[OffPathHandler] = []  # the handler access lines are queued to as figures, if any
# The root's list itself: a handler added later (a test's log capture) shows in it.
_root_handlers = logging.getLogger().handlers


def start_log_writer() -> None:
    """Write the root logger's lines from a thread of their own (the application's startup).

    When that handler is the only one an access line would reach (the server's configuration:
    configure_logging), the line is queued as the request's figures and formatted by the writing
    thread, without a log record made for it.
    """
    handlers = _off_path_handlers()
    for handler in handlers:
        handler.start()
    chain = [access_log, logging.getLogger("registry")]
    alone = not any(logger.handlers or logger.filters or not logger.propagate for logger in chain)
    root = logging.getLogger()
    _direct[:] = []
    only = handlers[0] if len(handlers) == 1 and root.handlers == handlers and not root.filters else None
    if alone and only is not None and isinstance(only.target, BatchedStreamHandler) and not only.filters:
        _direct.append(only)


def stop_log_writer() -> None:
    """Write every queued line, then write at once again (the application's shutdown)."""
    _direct[:] = []
    for handler in _off_path_handlers():
        handler.stop()


def configure_logging(level: str = "INFO") -> dict[str, Any]:
    """Root logging as JSON lines on stderr; returns the same as a dictConfig for uvicorn."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"()": "app.kit.observe.stderr_off_path"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn.access": {"level": "WARNING"},  # our own access line replaces uvicorn's
            "uvicorn.error": {"level": level},
        },
    }
    logging.config.dictConfig(config)
    return config


_ACCESS_RECORD: dict[str, Any] = {}


def access_record() -> logging.LogRecord:
    """A record of the access logger at INFO, as access_log.info("request") would make it, made by
    copying a template: logging's own constructor looks up the caller's file, thread and process
    for every line, and they are always the same here."""
    if not _ACCESS_RECORD:
        template = access_log.makeRecord(access_log.name, INFO, __file__, 0, "request", (), None)
        _ACCESS_RECORD.update(vars(template))
    record = logging.LogRecord.__new__(logging.LogRecord)
    record.__dict__.update(_ACCESS_RECORD)
    now = time.time_ns()
    record.created = now / 1e9
    record.msecs = (now % 1_000_000_000) // 1_000_000 + 0.0
    record.relativeCreated = (
        _ACCESS_RECORD["relativeCreated"] + (record.created - _ACCESS_RECORD["created"]) * 1e3
    )
    return record


# --- the middleware -------------------------------------------------------------------------------


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not (rid and _SANE_ID.match(rid)):
            rid = new_request_id()
        token = request_id.set(rid)
        id_header = (b"x-request-id", rid.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", "unmatched")
            METRICS.observe(scope["method"], template, status, elapsed)
            if access_log.isEnabledFor(INFO):
                client = scope.get("client")
                address = client[0] if client else None
                if _direct and len(_root_handlers) == 1:
                    # Masked when formatted, at the hand-over (AccessEntry's path).
                    method, path = scope["method"], scope["path"]
                    _direct[0].offer_access(
                        (time.time(), rid, method, path, template, status, elapsed, address)
                    )
                else:
                    record = access_record()
                    record.fields = {
                        "method": scope["method"],
                        # Logs outlive the records: a person's number in a path is masked as the
                        # public would see it (the query string is not logged).
                        "path": mask_resident_ids(scope["path"]),
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": address,
                    }
                    access_log.handle(record)
            request_id.reset(token)
