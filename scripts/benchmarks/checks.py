"""Approver checks: POST /v1/checks against its ceiling, and one batch of 10,000 identifiers.

For each database, in one run:
1. a fresh database migrated and seeded, then N subjects with about 2N records (telecom fraud,
   tax fraud and court judgment black-list records of every severity, red-list records, some
   expired, some under objection) loaded with the driver alone (COPY on PostgreSQL, executemany
   on SQLite), then ANALYZE;
2. the real server (`registry serve`, one worker process) and `wrk` on loopback (one thread,
   --connections open; install it with `apt-get install -y wrk`):
   - bare: GET /ping of a separate minimal FastAPI app (scripts/benchmarks/bare_app.py, one
     `async def` returning constant JSON) on uvicorn with uvloop and httptools, started here;
   - ping: GET /healthz of the registry, its own constant-JSON endpoint: ping ÷ bare is what the
     registry's stack (middleware, logging, metrics, routing) costs before any endpoint runs;
   - raw: the check's own read query (subject by identifier with its records in force, one
     statement) through the driver with no framework (psycopg async, --raw-connections at once;
     sqlite3 for SQLite), random identifiers;
   - ceiling = 1 / (1/bare + 1/raw): what a check could reach at best;
   - checks: POST /v1/checks with random identifiers (90% known) and actions, wrk latency p50/p99;
     efficiency = checks/s / ceiling (target >= 0.45);
   the four measured side by side in each of --rounds rounds (the machine's speed drifts), the
   round of median efficiency reported and every round's efficiency listed;
3. one POST /v1/checks/batch of --batch identifiers, timed by the client (best and median of
   --batch-runs after one warm-up); target under 1 s on PostgreSQL.
"""

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log
from scripts.benchmarks.ingest import prepare_schema

describe = __doc__.splitlines()[0] if __doc__ else "approver checks"
TARGET_EFFICIENCY = 0.45
TARGET_BATCH_SECONDS = 1.0
APPROVER = "national.market_regulation"
ACTIONS = ("administrative_license", "public_procurement", "high_consumption", "financing")

# (agency, domain, list_type, severity, weight): what a subject's records are.
_KINDS = (
    ("national.public_security", "telecom_fraud", "black", "serious", 30),
    ("national.public_security", "telecom_fraud", "black", "general", 10),
    ("zaozhuang.taxation", "tax_fraud", "black", "general", 15),
    ("zaozhuang.taxation", "tax_fraud", "black", "minor", 5),
    ("national.supreme_court", "court_judgments", "black", "general", 20),
    ("national.public_security", "telecom_fraud", "red", "general", 20),
)
_KIND_WEIGHTS = [kind[4] for kind in _KINDS]

SUBJECT_COLUMNS = ("id", "identifier", "identifier_type", "kind", "name", "created_at", "updated_at")
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
    "received_at",
    "updated_at",
    "content_hash",
)

# The read query of app.checks.service.facts_today, written out for the driver.
READ_QUERY = (
    "SELECT s.id, s.kind, s.name, s.identifier_type, s.identifier, r.id, r.agency_code, a.name_zh, "
    "r.domain_code, r.list_type, r.severity, r.status, r.decision_no, r.decision_date, r.publicity_end, "
    "r.under_objection, r.version FROM subjects s LEFT OUTER JOIN records r ON r.subject_id = s.id "
    "AND r.status = 'active' AND r.publicity_start <= {p} AND r.publicity_end >= {p} "
    "LEFT OUTER JOIN agencies a ON a.code = r.agency_code WHERE s.identifier = {p}"
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="PostgreSQL (default 1,000,000)")
    parser.add_argument("--sqlite-subjects", type=int, default=100_000, help="SQLite (default 100,000)")
    parser.add_argument("--records-per-subject", type=float, default=2.0, help="on average (default 2)")
    parser.add_argument(
        "--rounds", type=_positive, default=3, help="rounds of raw, bare and checks (default 3)"
    )
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds of each measurement in a round (default 5)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--raw-connections", type=int, default=8, help="raw driver connections (default 8)")
    parser.add_argument("--batch", type=int, default=10_000, help="identifiers in the batch (default 10000)")
    parser.add_argument("--batch-runs", type=int, default=3, help="timed batch runs (default 3)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="server to create the throwaway database bench_checks_<pid> on",
    )


# --- the data ---------------------------------------------------------------------------------------


def _uscc(serial: int) -> str:
    from app.kit.identifiers import complete_uscc

    return complete_uscc(f"91370400{serial:08d}")


def identifiers(count: int) -> list[str]:
    return [_uscc(i) for i in range(count)]


def rows(count: int, per_subject: float, idents: list[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("subjects" | "records", row) for `count` subjects and about `per_subject` records each."""
    rng = random.Random(20261122)
    now = datetime.now(UTC)
    today = date.today()
    extra = per_subject - 1.0
    for i in range(count):
        subject_id = uuid.UUID(int=(1 << 64) + i)  # the same in both passes of the load
        name = f"枣庄测试商贸有限公司{i}"
        yield "subjects", (subject_id, idents[i], "uscc", "legal_person", name, now, now)
        for n in range(1 + (1 if rng.random() < extra else 0)):
            agency, domain, list_type, severity, _ = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
            decided = today - timedelta(days=rng.randint(1, 700))
            years = {"serious": 3, "general": 1, "minor": 0}[severity]
            end = decided + timedelta(days=365 * years + 90)
            status = "active" if end >= today else "expired"
            yield (
                "records",
                (
                    uuid.UUID(int=(2 << 64) + 2 * i + n),
                    agency,
                    f"bench-{i}-{n}",
                    domain,
                    list_type,
                    severity,
                    subject_id,
                    name,
                    "为电信网络诈骗提供支付结算帮助",
                    f"决字〔{decided.year}〕{i}-{n}号",
                    decided,
                    "《中华人民共和国反电信网络诈骗法》第三十一条",
                    decided,
                    end,
                    "public",
                    status,
                    1,
                    rng.random() < 0.05,
                    False,
                    now,
                    now,
                    "0" * 64,
                ),
            )


def load_postgres(database_url: str, count: int, per_subject: float, idents: list[str]) -> int:
    columns = {"subjects": SUBJECT_COLUMNS, "records": RECORD_COLUMNS}
    records = 0
    with psycopg.connect(harness.libpq_url(database_url)) as connection:
        # Two passes (subjects, then records), each one COPY: records point at subjects.
        for table in ("subjects", "records"):
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns[table])}) FROM STDIN") as copy,
            ):
                for kind, row in rows(count, per_subject, idents):
                    if kind == table:
                        copy.write_row(row)
                        records += table == "records"
            connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE subjects")
        connection.execute("VACUUM ANALYZE records")
    return records


def load_sqlite(path: Path, count: int, per_subject: float, idents: list[str]) -> int:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        buffers: dict[str, list[tuple[Any, ...]]] = {"subjects": [], "records": []}
        columns = {"subjects": SUBJECT_COLUMNS, "records": RECORD_COLUMNS}
        records = 0

        def adapt(value: Any) -> Any:
            if isinstance(value, uuid.UUID):
                return value.hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits
            if isinstance(value, datetime):
                return value.replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(value, date):
                return value.isoformat()
            return value

        def flush(table: str) -> None:
            marks = ", ".join("?" * len(columns[table]))
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES ({marks})", buffers[table]
            )
            buffers[table].clear()

        for kind, row in rows(count, per_subject, idents):
            buffers[kind].append(tuple(adapt(value) for value in row))
            records += kind == "records"
            if len(buffers[kind]) >= 10_000:
                if kind == "records":
                    flush("subjects")
                flush(kind)
        flush("subjects")
        flush("records")
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return records


# --- load generation -----------------------------------------------------------------------------

_WRK_SCRIPT = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local actions = {"administrative_license", "public_procurement", "high_consumption", "financing"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
request = function()
  local body = '{"subject":{"identifier":"' .. ids[math.random(#ids)] .. '"},"action":"'
    .. actions[math.random(#actions)] .. '"}'
  return wrk.format(nil, nil, nil, body)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise BenchFailure(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str, args: argparse.Namespace, script: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise BenchFailure("wrk is not installed (apt-get install -y wrk)")
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        timeout=args.duration + 60,
        env=os.environ | (env or {}),
        check=False,
    )
    if done.returncode != 0:
        raise BenchFailure(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rate and p50 and p99 and total):
        raise BenchFailure(f"cannot read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if bad or errors:
        raise BenchFailure(f"wrk saw failures against {url}:\n{out}")
    return {
        "requests_per_s": round(float(rate.group(1)), 1),
        "requests": int(total.group(1)),
        "p50_ms": round(_ms(p50.group(1)), 2),
        "p99_ms": round(_ms(p99.group(1)), 2),
    }


async def _raw_postgres(database_url: str, idents: list[str], seconds: float, connections: int) -> float:
    query = READ_QUERY.format(p="%s")
    today = date.today()
    done = 0

    async def worker(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        async with await psycopg.AsyncConnection.connect(
            harness.libpq_url(database_url), autocommit=True
        ) as conn:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                cursor = await conn.execute(query, (today, today, rng.choice(idents)), prepare=True)
                await cursor.fetchall()
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    return done / (time.perf_counter() - started)


def raw_sqlite(path: Path, idents: list[str], seconds: float) -> float:
    query = READ_QUERY.format(p="?")
    today = date.today().isoformat()
    rng = random.Random(1)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        connection.execute(query, (today, today, rng.choice(idents))).fetchall()
        done += 1
    connection.close()
    return done / (time.perf_counter() - started)


def batch_checks(
    base_url: str, token: str, idents: list[str], args: argparse.Namespace, unknown: int
) -> list[float]:
    rng = random.Random(7)
    items = [
        {
            "subject": {"identifier": rng.choice(idents) if rng.random() < 0.9 else _uscc(unknown + n)},
            "action": rng.choice(ACTIONS),
        }
        for n in range(args.batch)
    ]
    body = orjson.dumps({"items": items})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    seconds = []
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        for run in range(args.batch_runs + 1):
            started = time.perf_counter()
            answer = client.post("/v1/checks/batch", content=body, headers=headers)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200:
                raise BenchFailure(f"batch answered {answer.status_code}: {answer.text[:300]}")
            results = answer.json()["results"]
            if len(results) != args.batch:
                raise BenchFailure(f"batch answered {len(results)} results for {args.batch} items")
            if run > 0:  # the first run warms caches up
                seconds.append(elapsed)
    return seconds


# --- one database ----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path, postgres_url: str) -> Iterator[str]:
    if kind == "sqlite":
        (workdir / "server").mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{workdir / 'server' / 'registry.db'}"
        return
    with harness.postgres_database(postgres_url, f"bench_checks_{os.getpid()}") as url:
        yield url


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    count = args.subjects if kind == "postgres" else args.sqlite_subjects
    with (
        harness.temp_dir(f"registry-bench-checks-{kind}-") as workdir,
        database(kind, workdir, args.postgres_url) as url,
    ):
        log(f"{kind}: schema and seed catalog")
        prepare_schema(url)
        log(f"{kind}: generating {count:,} identifiers")
        idents = identifiers(count)
        started = time.perf_counter()
        if kind == "postgres":
            records = load_postgres(url, count, args.records_per_subject, idents)
        else:
            records = load_sqlite(
                Path(url.removeprefix("sqlite:///")), count, args.records_per_subject, idents
            )
        load_seconds = time.perf_counter() - started
        log(f"{kind}: loaded {count:,} subjects and {records:,} records in {load_seconds:.0f}s")
        sample = random.Random(3).sample(idents, min(len(idents), 20_000))
        ids_file = workdir / "ids.txt"
        unknown = [_uscc(count + n) for n in range(len(sample) // 9)]
        ids_file.write_text("\n".join(sample + unknown) + "\n")
        script = workdir / "check.lua"
        script.write_text(_WRK_SCRIPT)

        def measure_raw() -> float:
            if kind == "postgres":
                return asyncio.run(_raw_postgres(url, sample, args.duration, args.raw_connections))
            return raw_sqlite(Path(url.removeprefix("sqlite:///")), sample, args.duration)

        with harness.BareServer() as bare_server, harness.RegistryServer(url, workdir / "server") as server:
            try:
                token = server.client_token(APPROVER, ["checks:write"])
                env = {"BENCH_IDS": str(ids_file), "BENCH_TOKEN": token}
                warm_up = argparse.Namespace(**(vars(args) | {"duration": 3}))
                wrk(bare_server.url, warm_up)
                wrk(f"{server.base_url}/healthz", warm_up)
                wrk(f"{server.base_url}/v1/checks", warm_up, script, env)
                rounds = []
                for number in range(1, args.rounds + 1):
                    log(
                        f"{kind}: round {number}/{args.rounds}: raw driver, bare FastAPI, GET /healthz, "
                        "POST /v1/checks"
                    )
                    raw = measure_raw()
                    bare = wrk(bare_server.url, args)
                    ping = wrk(f"{server.base_url}/healthz", args)
                    checks = wrk(f"{server.base_url}/v1/checks", args, script, env)
                    ceiling = harness.ceiling(bare["requests_per_s"], raw)
                    rounds.append(
                        {
                            "bare": bare,
                            "bare_stack": "/".join(bare_server.stack),
                            "ping": ping,
                            "ping_over_bare": round(ping["requests_per_s"] / bare["requests_per_s"], 3),
                            "raw_queries_per_s": round(raw, 1),
                            "ceiling_per_s": round(ceiling, 1),
                            "checks": checks,
                            "efficiency": round(checks["requests_per_s"] / ceiling, 3),
                        }
                    )
                log(f"{kind}: POST /v1/checks/batch of {args.batch}")
                batch = batch_checks(server.base_url, token, sample, args, count + len(unknown) + 1)
            except (BenchFailure, httpx.HTTPError) as exc:
                raise BenchFailure(
                    f"{exc}\n{server.exit_note()}\n--- server log (tail) ---\n{server.log_tail()}"
                ) from exc
    # The machine's speed drifts over a run (seen here: ±25% within a minute), so the ceiling and the
    # checks are measured side by side in each round, and the round of median efficiency reported.
    middle = sorted(rounds, key=lambda measured: measured["efficiency"])[len(rounds) // 2]
    return {
        "database": kind,
        "subjects": count,
        "records": records,
        "load_seconds": round(load_seconds, 1),
        **middle,
        "efficiency_by_round": [measured["efficiency"] for measured in rounds],
        "rounds": rounds,
        "batch": {
            "items": args.batch,
            "seconds": [round(s, 3) for s in batch],
            "best_s": round(min(batch), 3),
            "median_s": round(statistics.median(batch), 3),
        },
    }


def run(args: argparse.Namespace) -> int:
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[dict[str, Any]] = []
    with harness.sigterm_unwinds():
        try:
            if "postgres" in kinds:
                harness.ensure_postgres(args.postgres_url)
            for kind in kinds:
                results.append(bench_database(kind, args))
        except BenchFailure as exc:
            print(f"scripts/bench checks: FAILED: {exc}", file=sys.stderr)
            return 1
    headers = [
        "database",
        "subjects",
        "bare req/s",
        "ping req/s",
        "ping÷bare",
        "raw q/s",
        "ceiling",
        "checks/s",
        "efficiency",
        "p50 ms",
        "p99 ms",
        "batch s (best/median)",
    ]
    table = [
        [
            r["database"],
            f"{r['subjects']:,}",
            f"{r['bare']['requests_per_s']:,.0f}",
            f"{r['ping']['requests_per_s']:,.0f}",
            f"{r['ping_over_bare']:.2f}",
            f"{r['raw_queries_per_s']:,.0f}",
            f"{r['ceiling_per_s']:,.0f}",
            f"{r['checks']['requests_per_s']:,.0f}",
            f"{r['efficiency']:.2f}",
            f"{r['checks']['p50_ms']:.1f}",
            f"{r['checks']['p99_ms']:.1f}",
            f"{r['batch']['best_s']:.2f}/{r['batch']['median_s']:.2f}",
        ]
        for r in results
    ]
    print()
    print(harness.table(headers, table))
    print()
    print(
        f"targets: checks ÷ ceiling (efficiency) >= {TARGET_EFFICIENCY}; "
        f"one batch of 10,000 under {TARGET_BATCH_SECONDS:.0f} s on PostgreSQL"
    )
    verdicts = {}
    for r in results:
        met_eff = r["efficiency"] >= TARGET_EFFICIENCY
        verdicts[r["database"]] = {"efficiency_met": met_eff}
        by_round = ", ".join(f"{efficiency:.2f}" for efficiency in r["efficiency_by_round"])
        line = (
            f"  {r['database']}: efficiency {r['efficiency']:.2f} {'met' if met_eff else 'NOT met'}"
            f" (rounds: {by_round})"
        )
        if r["database"] == "postgres" and r["batch"]["items"] == 10_000:
            met_batch = r["batch"]["median_s"] < TARGET_BATCH_SECONDS
            verdicts["postgres"]["batch_met"] = met_batch
            line += f"; batch {r['batch']['median_s']:.2f} s (median) {'met' if met_batch else 'NOT met'}"
        print(line)
    meta: dict[str, Any] = {"machine": harness.machine()}
    if "postgres" in kinds:
        meta["postgres_version"] = harness.postgres_version(args.postgres_url)
    path = harness.write_results(
        "checks",
        {
            "suite": "checks",
            **meta,
            "params": {k: v for k, v in vars(args).items() if k != "postgres_url"}
            | {"server_workers": 1, "wrk_threads": 1},
            "results": results,
            "targets": {
                "efficiency": TARGET_EFFICIENCY,
                "batch_seconds": TARGET_BATCH_SECONDS,
                "verdicts": verdicts,
            },
        },
    )
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    return 0
