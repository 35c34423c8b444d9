"""Batch ingest: records/s through POST /v1/records/batch against records/s of raw driver inserts.

For each database, in one run:
1. the real server (`registry serve`, one worker unless --workers) on a fresh database, an API
   client of 公安部 and a token; N distinct valid records generated and serialized before any timing;
2. the API figure: the records pushed in batches over HTTP (sequential by default), every batch
   checked to answer created == its size; on PostgreSQL once more on a fresh database with as many
   workers and concurrent clients as the machine has cores (--parallel), as agencies push at once;
3. the raw figure: on another fresh database migrated to the same schema, the same records inserted
   as the rows the service writes for them (subject, record, audit entry) with the
   driver alone (sqlite3 / psycopg executemany), one transaction per batch of the same size. Row
   contents, ids and hashes are computed before the clock starts: this is the database's speed.
   (The API also writes each new subject's row of the public search index, which the raw figure
   leaves out: the ratio is, if anything, unfair to the API.)
"""

import argparse
import contextlib
import hashlib
import os
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log
from scripts.benchmarks.records import AGENCY, generate

describe = __doc__.splitlines()[0] if __doc__ else "batch ingest"
TARGET_RECORDS_PER_S = 5000
TARGET_BATCH = 1000
TARGET_LINE = (
    f"target: >= {TARGET_RECORDS_PER_S} records/s through the API on PostgreSQL "
    f"with batches of {TARGET_BATCH}"
)
SCOPES = ("records:write", "records:read")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=20_000, help="records to push (default 20000)")
    parser.add_argument("--batch", type=int, default=1000, help="records per request (default 1000)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="client threads pushing batches (default 1)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server worker processes on PostgreSQL (default 1; SQLite always has one)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=os.cpu_count() or 2,
        help="PostgreSQL: also push with this many workers and as many concurrent clients, on a "
        "fresh database (default: the number of cores; 0: not)",
    )
    parser.add_argument(
        "--warmup", type=int, default=100, help="records pushed untimed before the run (default 100)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=1800.0,
        help="give up a timed phase after this long (default 1800)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="PostgreSQL server (SQLAlchemy URL); a fresh database is created on it and dropped",
    )


# --- pushing through the API -----------------------------------------------------------------------


@dataclass
class ApiFigures:
    seconds: float
    batch_seconds: list[float]

    def as_dict(self, records: int) -> dict[str, Any]:
        ordered = sorted(self.batch_seconds)
        return {
            "seconds": round(self.seconds, 3),
            "records_per_s": round(records / self.seconds, 1),
            "batch_seconds": {
                "median": round(statistics.median(ordered), 4),
                "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 4),
                "max": round(ordered[-1], 4),
                # In the order sent (with --concurrency, completion order): shows any growth with size.
                "each": [round(seconds, 4) for seconds in self.batch_seconds],
            },
        }


def _serialize(bodies: Sequence[dict[str, Any]], batch: int) -> list[tuple[int, bytes]]:
    return [
        (len(bodies[start : start + batch]), orjson.dumps({"records": bodies[start : start + batch]}))
        for start in range(0, len(bodies), batch)
    ]


def _check_answer(answer: httpx.Response, expected: int, number: int) -> None:
    if answer.status_code != 200:
        raise BenchFailure(f"batch {number}: HTTP {answer.status_code}: {answer.text[:500]}")
    summary = answer.json()
    if summary["created"] != expected or summary["errors"]:
        first_error = next((item for item in summary["results"] if item["status"] == "error"), None)
        raise BenchFailure(
            f"batch {number}: created {summary['created']} of {expected}, unchanged "
            f"{summary['unchanged']}, errors {summary['errors']}; first error: {first_error}"
        )


def push(
    base_url: str,
    token: str,
    payloads: list[tuple[int, bytes]],
    *,
    concurrency: int,
    timeout: float,
    max_seconds: float,
) -> ApiFigures:
    """POST every payload to /v1/records/batch; returns wall time and each request's latency."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    next_index = iter(range(len(payloads)))
    lock = threading.Lock()
    failures: list[BaseException] = []
    started = time.perf_counter()
    deadline = started + max_seconds

    def worker() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client:
            while not failures:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                if time.perf_counter() > deadline:
                    raise BenchFailure(f"gave up after --max-seconds {max_seconds:.0f}")
                expected, payload = payloads[index]
                sent = time.perf_counter()
                answer = client.post("/v1/records/batch", content=payload)
                took = time.perf_counter() - sent
                _check_answer(answer, expected, index)
                with lock:
                    latencies.append(took)

    def guarded() -> None:
        try:
            worker()
        except BaseException as exc:
            failures.append(exc)

    if concurrency == 1:
        worker()
    else:
        threads = [threading.Thread(target=guarded, daemon=True) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            # Requests carry their own timeout; this only bounds a thread that never returns.
            thread.join(timeout=max_seconds + timeout)
        if any(thread.is_alive() for thread in threads):
            raise BenchFailure("a client thread did not finish in time")
        if failures:
            raise failures[0]
    return ApiFigures(time.perf_counter() - started, latencies)


def count_records(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM records")).scalar_one())
    finally:
        engine.dispose()


def api_phase(
    database_url: str,
    data_dir: Path,
    bodies: list[dict[str, Any]],
    args: argparse.Namespace,
    setup: "Setup",
) -> ApiFigures:
    warmup = generate(args.warmup, tag=f"{os.getpid()}w", start=len(bodies)) if args.warmup else []
    payloads = _serialize(bodies, args.batch)
    with harness.RegistryServer(database_url, data_dir, workers=setup.workers) as server:
        log(f"server ready on {server.base_url}")
        token = server.client_token(AGENCY, SCOPES)
        try:
            if warmup:
                push(
                    server.base_url,
                    token,
                    _serialize(warmup, args.batch),
                    concurrency=1,
                    timeout=args.timeout,
                    max_seconds=args.max_seconds,
                )
            log(f"pushing {len(bodies)} records in {len(payloads)} batches of {args.batch}")
            figures = push(
                server.base_url,
                token,
                payloads,
                concurrency=setup.clients,
                timeout=args.timeout,
                max_seconds=args.max_seconds,
            )
        except (BenchFailure, httpx.HTTPError) as exc:
            raise BenchFailure(
                f"{exc}\n{server.exit_note()}\n--- server log (tail) ---\n{server.log_tail()}"
            ) from exc
    stored = count_records(database_url)
    if stored != len(bodies) + len(warmup):
        raise BenchFailure(f"the database holds {stored} records, expected {len(bodies) + len(warmup)}")
    return figures


# --- raw driver inserts ----------------------------------------------------------------------------

SUBJECT_COLUMNS = (
    "id",
    "identifier",
    "identifier_type",
    "kind",
    "name",
    "birth_date",
    "created_at",
    "updated_at",
)
RECORD_COLUMNS = (
    "id",
    "agency_code",
    "external_id",
    "domain_code",
    "list_type",
    "severity",
    "subject_id",
    "subject_name",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_start",
    "publicity_end",
    "visibility",
    "status",
    "version",
    "under_objection",
    "late_disclosure",
    "calendar_note",
    "received_at",
    "updated_at",
    "exited_at",
    "exit_reason",
    "exit_decision_no",
    "content_hash",
    "notice_document_no",
    "notice_served_on",
)
AUDIT_COLUMNS = ("seq", "at", "actor", "action", "entity_type", "entity_id", "payload", "prev_hash", "hash")
TABLES = (
    ("subjects", SUBJECT_COLUMNS),
    ("records", RECORD_COLUMNS),
    ("audit_log", AUDIT_COLUMNS),
)
ROWS_PER_RECORD = len(TABLES)


def _sqlite_value(value: Any) -> Any:
    """The values SQLAlchemy stores on SQLite: hex UUIDs, ISO dates, naive UTC timestamps, 0/1."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def raw_rows(
    bodies: Sequence[dict[str, Any]], batch: int, dialect: str, chain_head: tuple[int, str]
) -> list[list[list[tuple[Any, ...]]]]:
    """Per batch, per table, the row tuples the service would write for these bodies.

    The audit entries continue the chain from `chain_head` (seq, hash): the seed catalog's entries.
    """
    from app.kit.identifiers import validate_resident_id
    from app.records.history import snapshot
    from app.records.publicity import default_policy

    now = datetime.now(UTC)
    actor = f"client:bench@{AGENCY}"
    adapt: Callable[[Any], Any] = _sqlite_value if dialect == "sqlite" else (lambda value: value)
    seq, prev_hash = chain_head
    batches = []
    for start in range(0, len(bodies), batch):
        tables: list[list[tuple[Any, ...]]] = [[] for _ in TABLES]
        for body in bodies[start : start + batch]:
            subject = body["subject"]
            decided = date.fromisoformat(body["decision_date"])
            subject_id, record_id = uuid.uuid4(), uuid.uuid4()
            birth = (
                validate_resident_id(subject["identifier"]).birth_date
                if subject["identifier_type"] == "resident_id"
                else None
            )
            publicity_end = default_policy(body["domain"], body["severity"]).default_end(decided)
            subject_row = {
                "id": subject_id,
                "identifier": subject["identifier"],
                "identifier_type": subject["identifier_type"],
                "kind": subject["kind"],
                "name": subject["name"],
                "birth_date": birth,
                "created_at": now,
                "updated_at": now,
            }
            effective = body | {"publicity_end": publicity_end.isoformat(), "visibility": "public"}
            record_row = {
                "id": record_id,
                "agency_code": AGENCY,
                "external_id": body["external_id"],
                "domain_code": body["domain"],
                "list_type": body["list_type"],
                "severity": body["severity"],
                "subject_id": subject_id,
                "subject_name": subject["name"],
                "conduct": body["conduct"],
                "decision_no": body["decision_no"],
                "decision_date": decided,
                "legal_basis": body["legal_basis"],
                "publicity_start": decided,
                "publicity_end": publicity_end,
                "visibility": "public",
                "status": "active",
                "version": 1,
                "under_objection": False,
                "late_disclosure": False,
                "calendar_note": None,
                "received_at": now,
                "updated_at": now,
                "exited_at": None,
                "exit_reason": None,
                "exit_decision_no": None,
                "content_hash": hashlib.sha256(_canonical(effective)).hexdigest(),
                "notice_id": None,
                "notice_document_no": body["notice"]["document_no"],
                "notice_served_on": date.fromisoformat(body["notice"]["served_on"]),
            }
            seq += 1
            payload = _canonical(snapshot(record_row)).decode()
            row_hash = hashlib.sha256(
                _canonical([prev_hash, seq, now.isoformat(), actor, "record.created", "record", payload])
            ).hexdigest()
            audit_row = {
                "seq": seq,
                "at": now,
                "actor": actor,
                "action": "record.created",
                "entity_type": "record",
                "entity_id": str(record_id),
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": row_hash,
            }
            prev_hash = row_hash
            for rows, row, columns in zip(
                tables, (subject_row, record_row, audit_row), (c for _, c in TABLES), strict=True
            ):
                rows.append(tuple(adapt(row[column]) for column in columns))
        batches.append(tables)
    return batches


def _insert_sql(table: str, columns: Sequence[str], placeholder: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))})"


def prepare_schema(database_url: str) -> tuple[int, str]:
    """`alembic upgrade head` and the seed catalog (records point at agencies and domains).

    Returns the audit chain's head (seq, hash) after the catalog's entries.
    """
    from app import migrate
    from app.db import make_engine
    from app.seed import load_seed_catalog

    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            load_seed_catalog(session, actor="system:bench")
            session.commit()
            head = session.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
            return (int(head[0]), str(head[1])) if head else (0, "0" * 64)
    finally:
        engine.dispose()


def _timed_batches(
    batches: list[list[list[tuple[Any, ...]]]], insert_batch: Callable[..., None], max_seconds: float
) -> float:
    started = time.perf_counter()
    for tables in batches:
        if time.perf_counter() - started > max_seconds:
            raise BenchFailure(f"raw inserts gave up after --max-seconds {max_seconds:.0f}")
        insert_batch(tables)
    return time.perf_counter() - started


def raw_sqlite(path: Path, batches: list[list[list[tuple[Any, ...]]]], max_seconds: float) -> float:
    statements = [_insert_sql(table, columns, "?") for table, columns in TABLES]
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        # The app's connection settings (app.db._tune_sqlite), so that only the framework differs.
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
            connection.execute(f"PRAGMA {pragma}")

        def insert_batch(tables: list[list[tuple[Any, ...]]]) -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement, rows in zip(statements, tables, strict=True):
                    connection.executemany(statement, rows)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

        return _timed_batches(batches, insert_batch, max_seconds)
    finally:
        connection.close()


def raw_postgres(database_url: str, batches: list[list[list[tuple[Any, ...]]]], max_seconds: float) -> float:
    statements = [_insert_sql(table, columns, "%s") for table, columns in TABLES]
    with psycopg.connect(harness.libpq_url(database_url), connect_timeout=5) as connection:

        def insert_batch(tables: list[list[tuple[Any, ...]]]) -> None:
            with connection.transaction(), connection.cursor() as cursor:
                for statement, rows in zip(statements, tables, strict=True):
                    cursor.executemany(statement, rows)

        return _timed_batches(batches, insert_batch, max_seconds)


def raw_phase(database_url: str, bodies: list[dict[str, Any]], args: argparse.Namespace) -> float:
    chain_head = prepare_schema(database_url)
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    batches = raw_rows(bodies, args.batch, dialect, chain_head)
    log(f"raw {dialect} inserts: {len(bodies)} records x {ROWS_PER_RECORD} rows")
    if dialect == "sqlite":
        seconds = raw_sqlite(Path(database_url.removeprefix("sqlite:///")), batches, args.max_seconds)
    else:
        seconds = raw_postgres(database_url, batches, args.max_seconds)
    stored = count_records(database_url)
    if stored != len(bodies):
        raise BenchFailure(f"raw inserts left {stored} records, expected {len(bodies)}")
    return seconds


# --- one database, then the whole run --------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """How the API is pushed to: server worker processes and concurrent clients."""

    workers: int
    clients: int


def setups(kind: str, args: argparse.Namespace) -> list[Setup]:
    if kind == "sqlite":  # one writer: one worker
        return [Setup(1, args.concurrency)]
    first = Setup(args.workers, args.concurrency)
    parallel = Setup(args.parallel, args.parallel)
    return [first] if args.parallel < 1 or parallel == first else [first, parallel]


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, postgres_url: str, name: str) -> Iterator[str]:
    if kind == "sqlite":
        (workdir / name).mkdir()
        yield f"sqlite:///{workdir / name / 'registry.db'}"
        return
    with harness.postgres_database(postgres_url, f"registry_bench_{os.getpid()}_{name}") as url:
        yield url


def bench_database(kind: str, bodies: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One result per setup of the API, each against the raw driver's figure of the same run."""
    records = len(bodies)
    apis: list[tuple[Setup, ApiFigures]] = []
    with harness.temp_dir(f"registry-bench-{kind}-") as workdir:
        for setup in setups(kind, args):
            name = f"api_w{setup.workers}_c{setup.clients}"
            with fresh_database(kind, workdir, args.postgres_url, name) as api_url:
                log(f"{kind}: API phase, {setup.workers} worker(s), {setup.clients} client(s)")
                apis.append((setup, api_phase(api_url, workdir / name, bodies, args, setup)))
        with fresh_database(kind, workdir, args.postgres_url, "raw") as raw_url:
            log(f"{kind}: raw driver phase")
            raw_seconds = raw_phase(raw_url, bodies, args)
    raw_rate = records / raw_seconds
    raw = {
        "seconds": round(raw_seconds, 3),
        "records_per_s": round(raw_rate, 1),
        "rows_per_s": round(records * ROWS_PER_RECORD / raw_seconds, 1),
        "rows_per_record": ROWS_PER_RECORD,
        "tables": [table for table, _ in TABLES],
    }
    return [
        {
            "database": kind,
            "records": records,
            "batch": args.batch,
            "concurrency": setup.clients,
            "server_workers": setup.workers,
            "api": api.as_dict(records),
            "raw": raw,
            "ratio_api_raw": round(records / api.seconds / raw_rate, 3),
        }
        for setup, api in apis
    ]


def _target_verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
    postgres = [r for r in results if r["database"] == "postgres" and r["batch"] == TARGET_BATCH]
    best = max(postgres, key=lambda r: r["api"]["records_per_s"], default=None)
    measured = best["api"]["records_per_s"] if best else None
    return {
        "records_per_s": TARGET_RECORDS_PER_S,
        "database": "postgres",
        "batch": TARGET_BATCH,
        "measured": measured,
        "server_workers": best["server_workers"] if best else None,
        "clients": best["concurrency"] if best else None,
        "met": None if measured is None else measured >= TARGET_RECORDS_PER_S,
    }


def run(args: argparse.Namespace) -> int:
    if (
        args.records < 1
        or args.batch < 1
        or args.concurrency < 1
        or args.workers < 1
        or args.warmup < 0
        or args.parallel < 0
    ):
        print(
            "scripts/bench ingest: --records, --batch, --concurrency and --workers must be positive",
            file=sys.stderr,
        )
        return 2
    if args.batch > 10_000:
        print("scripts/bench ingest: --batch is at most 10000 (the API's limit)", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[dict[str, Any]] = []
    with harness.sigterm_unwinds():
        try:
            if "postgres" in kinds:
                harness.ensure_postgres(args.postgres_url)
            log(f"generating {args.records} records")
            bodies = generate(args.records, tag=str(os.getpid()))
            for kind in kinds:
                results.extend(bench_database(kind, bodies, args))
        except BenchFailure as exc:
            print(f"scripts/bench ingest: FAILED: {exc}", file=sys.stderr)
            return 1

    rows = [
        [
            r["database"],
            str(r["records"]),
            str(r["batch"]),
            f"{r['server_workers']} / {r['concurrency']}",
            f"{r['api']['records_per_s']:,.0f}",
            f"{r['raw']['records_per_s']:,.0f}",
            f"{r['ratio_api_raw']:.2f}",
        ]
        for r in results
    ]
    headers = [
        "database",
        "records",
        "batch",
        "workers / clients",
        "API records/s",
        "raw driver records/s",
        "API/raw",
    ]
    print()
    print(harness.table(headers, rows))
    print()
    print(TARGET_LINE)
    verdict = _target_verdict(results)
    if verdict["measured"] is not None:
        state = "met" if verdict["met"] else "NOT met"
        print(
            f"        {state}: {verdict['measured']:,.0f} records/s measured on PostgreSQL "
            f"({verdict['server_workers']} server worker(s), {verdict['clients']} concurrent client(s))"
        )
    print(
        f"(raw driver: {ROWS_PER_RECORD} rows per record — subject, record, audit entry — "
        "executemany from one connection, one transaction per batch)"
    )
    meta = {"machine": harness.machine()}
    if "postgres" in kinds:
        meta["postgres_version"] = harness.postgres_version(args.postgres_url)
    path = harness.write_results(
        "ingest",
        {
            "suite": "ingest",
            **meta,
            "params": {
                "records": args.records,
                "batch": args.batch,
                "concurrency": args.concurrency,
                "warmup": args.warmup,
                "server_workers": args.workers,
                "parallel": args.parallel,
            },
            "results": results,
            "target": verdict,
        },
    )
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    return 0
