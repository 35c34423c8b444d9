"""Soak: a mixed load (pushes, checks, public lookups) against the real server for a fixed time.

Several client threads drive `registry serve --workers N` on a fresh PostgreSQL database: single
pushes, small batches, approver checks of entities already listed, public lookups of them, and
agency reads. Afterwards every acknowledged record is read back. The server's memory (resident set
of each worker process) is sampled throughout; "flat" means the last fifth of the run used no more
than 10% (plus 8 MiB) over the fifth after warm-up. Exit 1 on any error, any lost record, or growth.
"""

import argparse
import contextlib
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.benchmarks import harness, records
from scripts.benchmarks.harness import BenchFailure, log

describe = __doc__.splitlines()[0] if __doc__ else "soak"
PUSHER = ("national.public_security", ("records:write", "records:read"))
APPROVER = ("national.market_regulation", ("checks:write",))
ACTIONS = ("administrative_license", "public_procurement", "financing", "honors")
# An operation's expected answers; anything else counts as an error.
EXPECTED = {
    "push": {200, 201},
    "batch": {200},
    "check": {200},
    # The public face shows only records in public force (not yet published, or restricted, is a
    # 404 like an unknown code): the soak's pushed records may not be; the lookup's query runs alike.
    "lookup": {200, 404},
    "read": {200},
}
WEIGHTS = {"push": 30, "batch": 5, "check": 30, "lookup": 30, "read": 5}
PATHS = {
    "push": "/v1/records",
    "batch": "/v1/records/batch",
    "check": "/v1/checks",
    "lookup": "/v1/public/subjects/{key}",
    "read": "/v1/records",
}
BATCH_SIZE = 20
MEMORY_SLACK = 1.10
MEMORY_SLACK_BYTES = 8 * 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the load (default 120)")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes (default 4)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--db", choices=("postgres", "sqlite", "both"), default="postgres", help="sqlite: one worker"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
    )


# --- memory of the server's processes --------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = []
    for child in map(int, text.split()):
        found += [child, *_children(child)]
    return found


def _memory_bytes(pid: int) -> tuple[int, int] | None:
    """(resident set, its anonymous part): the second leaves out the pages of shared libraries, which
    every worker maps from the same files (what one more worker costs, about)."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["RssAnon"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


@dataclass
class MemorySampler:
    """Samples the resident set of the server's worker processes every `interval` seconds."""

    root_pid: int
    interval: float = 1.0
    samples: list[tuple[float, dict[int, tuple[int, int]]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def workers(self) -> list[int]:
        # uvicorn with --workers N: a supervisor whose children serve (plus multiprocessing's helper);
        # with one worker the root process itself serves.
        # Not the delivery worker `registry serve` runs beside them on PostgreSQL (app.monitoring.beside).
        children = [
            pid
            for pid in _children(self.root_pid)
            if "uvicorn" not in (command := self._cmd(pid)) and "deliveries run" not in command
        ]
        return children or [self.root_pid]

    @staticmethod
    def _cmd(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    def run(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            sizes = {pid: sizes for pid in self.workers() if (sizes := _memory_bytes(pid)) is not None}
            self.samples.append((time.monotonic() - start, sizes))

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> dict[str, Any]:
        """Mean per-worker RSS in the fifth after warm-up vs. the last fifth."""
        if len(self.samples) < 10:
            return {"verdict": "too few samples", "flat": False}
        fifth = len(self.samples) // 5

        def mean_per_worker(window: list[tuple[float, dict[int, tuple[int, int]]]], part: int = 0) -> float:
            values = [both[part] for _, sizes in window for both in sizes.values()]
            return sum(values) / len(values) if values else 0.0

        early = mean_per_worker(self.samples[fifth : 2 * fifth])
        late = mean_per_worker(self.samples[-fifth:])
        flat = late <= early * MEMORY_SLACK + MEMORY_SLACK_BYTES
        peak_total = max(sum(rss for rss, _ in sizes.values()) for _, sizes in self.samples)
        return {
            "workers_seen": max(len(sizes) for _, sizes in self.samples),
            "per_worker_mib_after_warmup": round(early / 2**20, 1),
            "per_worker_mib_at_end": round(late / 2**20, 1),
            "per_worker_anonymous_mib_at_end": round(mean_per_worker(self.samples[-fifth:], 1) / 2**20, 1),
            "growth_percent": round((late / early - 1) * 100, 1) if early else None,
            "peak_total_mib": round(peak_total / 2**20, 1),
            "flat": flat,
        }


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: dict[str, str] = field(default_factory=dict)  # record id -> external_id
    identifiers: list[str] = field(default_factory=list)

    def note(self, op: str, answer: httpx.Response | None, seconds: float, problem: str = "") -> bool:
        ok = answer is not None and answer.status_code in EXPECTED[op]
        with self.lock:
            self.latencies.setdefault(op, []).append(seconds)
            if ok:
                self.done[op] += 1
            else:
                self.errors[op] += 1
                if len(self.error_samples) < 10:
                    status = answer.status_code if answer is not None else problem
                    body = answer.text[:200] if answer is not None else ""
                    self.error_samples.append(f"{op}: {status} {body}")
        return ok


class Load:
    def __init__(
        self, base_url: str, push_token: str, check_token: str, tally: Tally, seed: int, mix: dict[str, int]
    ):
        self.mix = mix
        self.client = httpx.Client(base_url=base_url, timeout=60.0)
        self.push_headers = {"Authorization": f"Bearer {push_token}"}
        self.check_headers = {"Authorization": f"Bearer {check_token}"}
        self.tally = tally
        self.rng = random.Random(seed)
        self.seed = seed
        self.serial = 0

    def _bodies(self, count: int) -> list[dict[str, Any]]:
        start = self.seed * 1_000_000 + self.serial
        self.serial += count
        return records.generate(count, tag=f"soak{self.seed}", start=start)

    def _timed(self, op: str, send: Callable[[], httpx.Response]) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            answer = send()
        except httpx.HTTPError as exc:
            self.tally.note(op, None, time.perf_counter() - began, type(exc).__name__)
            return None
        self.tally.note(op, answer, time.perf_counter() - began)
        return answer

    def _remember(self, bodies: list[dict[str, Any]], ids: list[str | None]) -> None:
        with self.tally.lock:
            for body, record_id in zip(bodies, ids, strict=True):
                if record_id:
                    self.tally.acknowledged[record_id] = body["external_id"]
                    self.tally.identifiers.append(body["subject"]["identifier"])

    def _known_identifier(self) -> str | None:
        with self.tally.lock:
            known = self.tally.identifiers
            return known[self.rng.randrange(len(known))] if known else None

    def push(self) -> None:
        bodies = self._bodies(1)
        answer = self._timed(
            "push", lambda: self.client.post("/v1/records", json=bodies[0], headers=self.push_headers)
        )
        if answer is not None and answer.status_code in EXPECTED["push"]:
            self._remember(bodies, [answer.json()["id"]])

    def batch(self) -> None:
        bodies = self._bodies(BATCH_SIZE)
        answer = self._timed(
            "batch",
            lambda: self.client.post(
                "/v1/records/batch", json={"records": bodies}, headers=self.push_headers
            ),
        )
        if answer is not None and answer.status_code == 200:
            results = answer.json()["results"]
            if any(item["status"] == "error" for item in results):
                self.tally.note("batch", None, 0.0, f"item refused: {results}")
            self._remember(bodies, [item.get("id") for item in results])

    def check(self) -> None:
        identifier = self._known_identifier()
        if identifier is None:
            return self.push()
        body = {"subject": {"identifier": identifier}, "action": self.rng.choice(ACTIONS)}
        answer = self._timed(
            "check", lambda: self.client.post("/v1/checks", json=body, headers=self.check_headers)
        )
        if answer is not None and answer.status_code == 200 and answer.json().get("found") is not True:
            self.tally.note("check", None, 0.0, f"listed entity {identifier} not found")
        return None

    def lookup(self) -> None:
        identifier = self._known_identifier()
        if identifier is None:
            return self.push()
        self._timed("lookup", lambda: self.client.get(f"/v1/public/subjects/{identifier}"))
        return None

    def read(self) -> None:
        self._timed("read", lambda: self.client.get("/v1/records?limit=20", headers=self.push_headers))

    def until(self, deadline: float) -> None:
        operations = {
            "push": self.push,
            "batch": self.batch,
            "check": self.check,
            "lookup": self.lookup,
            "read": self.read,
        }
        names, weights = list(self.mix), list(self.mix.values())
        try:
            while time.monotonic() < deadline:
                operations[self.rng.choices(names, weights)[0]]()
        finally:
            self.client.close()


def _read_back(base_url: str, token: str, acknowledged: dict[str, str], clients: int = 8) -> list[str]:
    """Ids of acknowledged records that cannot be read back as sent (read by several clients at once:
    every worker of the server answers)."""
    headers = {"Authorization": f"Bearer {token}"}
    items = list(acknowledged.items())

    def unreadable(share: list[tuple[str, str]]) -> list[str]:
        missing = []
        with httpx.Client(base_url=base_url, timeout=60.0, headers=headers) as client:
            for record_id, external_id in share:
                answer = client.get(f"/v1/records/{record_id}")
                if answer.status_code != 200 or answer.json().get("external_id") != external_id:
                    missing.append(record_id)
        return missing

    with ThreadPoolExecutor(clients) as pool:
        shares = pool.map(unreadable, [items[start::clients] for start in range(clients)])
        return [record_id for share in shares for record_id in share]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def soak(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    workers = args.workers if kind == "postgres" else 1
    with harness.temp_dir(f"registry-soak-{kind}-") as workdir:
        if kind == "postgres":
            database = harness.postgres_database(args.postgres_url, f"bench_soak_{os.getpid()}")
        else:
            database = contextlib.nullcontext(f"sqlite:///{workdir / 'registry.db'}")
        with (
            database as url,
            harness.RegistryServer(
                url, workdir, workers=workers, extra_env={"REGISTRY_PUBLIC_RATE_LIMIT": "1000000"}
            ) as server,
        ):
            push_token = server.client_token(PUSHER[0], PUSHER[1])
            check_token = server.client_token(APPROVER[0], APPROVER[1])
            assert server.process is not None
            served = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()["paths"]
            mix = {op: weight for op, weight in WEIGHTS.items() if PATHS[op] in served}
            if absent := sorted(set(WEIGHTS) - set(mix)):
                log(f"{kind}: this build serves no {', '.join(absent)} endpoint; left out of the mix")
            sampler = MemorySampler(server.process.pid)
            sampling = threading.Thread(target=sampler.run, daemon=True)
            sampling.start()
            tally = Tally()
            log(f"{kind}: {args.clients} clients for {args.seconds:.0f}s against {workers} worker(s)")
            deadline = time.monotonic() + args.seconds
            began = time.monotonic()
            threads = [
                threading.Thread(
                    target=Load(server.base_url, push_token, check_token, tally, seed, mix).until,
                    args=(deadline,),
                )
                for seed in range(1, args.clients + 1)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 120)
            elapsed = time.monotonic() - began
            sampler.stop()
            sampling.join(timeout=5)
            log(f"{kind}: reading back {len(tally.acknowledged)} acknowledged records")
            reading = time.monotonic()
            missing = _read_back(server.base_url, push_token, tally.acknowledged)
            read_back_seconds = time.monotonic() - reading
            log(f"{kind}: read back in {read_back_seconds:.1f}s, {len(missing)} missing")
            if server.process is None or server.process.poll() is not None:
                raise BenchFailure(
                    f"the server died during the soak: {server.exit_note()}\n{server.log_tail()}"
                )
    requests = sum(tally.done.values()) + sum(tally.errors.values())
    return {
        "database": kind,
        "workers": workers,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "by_operation": {
            op: {
                "ok": tally.done[op],
                "errors": tally.errors[op],
                "p50_ms": round(_percentile(tally.latencies.get(op, []), 0.5) * 1000, 1),
                "p99_ms": round(_percentile(tally.latencies.get(op, []), 0.99) * 1000, 1),
            }
            for op in mix
        },
        "left_out": absent,
        "errors": sum(tally.errors.values()),
        "error_samples": tally.error_samples,
        "acknowledged_records": len(tally.acknowledged),
        "lost_records": len(missing),
        "read_back_seconds": round(read_back_seconds, 1),
        "memory": sampler.summary(),
    }


def run(args: argparse.Namespace) -> int:
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    with harness.sigterm_unwinds():
        try:
            if "postgres" in kinds:
                harness.ensure_postgres(args.postgres_url)
            for kind in kinds:
                results.append(soak(kind, args))
        except BenchFailure as exc:
            print(f"scripts/bench soak: FAILED: {exc}", file=sys.stderr)
            return 1
    for result in results:
        print()
        print(
            f"soak on {result['database']}: {result['workers']} worker(s), {result['clients']} clients, "
            f"{result['seconds']}s, {result['requests']} requests ({result['requests_per_s']}/s)"
        )
        rows = [
            [op, str(f["ok"]), str(f["errors"]), f"{f['p50_ms']}", f"{f['p99_ms']}"]
            for op, f in result["by_operation"].items()
        ]
        print(harness.table(["operation", "ok", "errors", "p50 ms", "p99 ms"], rows))
        memory = result["memory"]
        print(
            f"acknowledged records {result['acknowledged_records']}, lost {result['lost_records']}; "
            f"memory per worker {memory.get('per_worker_mib_after_warmup')} MiB after warm-up -> "
            f"{memory.get('per_worker_mib_at_end')} MiB at the end ({memory.get('growth_percent')}%), "
            f"{'flat' if memory['flat'] else 'GROWING'}; of which anonymous (not shared libraries' pages) "
            f"{memory.get('per_worker_anonymous_mib_at_end')} MiB at the end"
        )
        for sample in result["error_samples"]:
            print(f"  error: {sample}")
    path = harness.write_results("soak", {"suite": "soak", "machine": harness.machine(), "results": results})
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    healthy = all(r["errors"] == 0 and r["lost_records"] == 0 and r["memory"]["flat"] for r in results)
    return 0 if healthy else 1
