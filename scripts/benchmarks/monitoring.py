"""Monitoring: what watchlists add to the push path, and the time from a push to its webhook.

For each database, on one real server (`registry serve`, its delivery worker as it runs it: on
PostgreSQL a process of its own beside the server, on SQLite in the server; polling every --poll
seconds when idle) and one fresh database, in one run:
1. baseline: N records pushed in batches with no watchlist at all (their subjects new);
2. a watchlist of W identifiers (N of them the subjects of phase 3, the rest never listed) with a
   callback URL: a receiver in a process of its own (http.server threads) that acknowledges at once;
3. N more records pushed the same way, each making one alert: the push's added cost per record
   against the pushes with no watchlist (the mean of phase 1 and the last phase), and each alert's
   time from the end of the push that caused it to its arrival at the receiver (p50, p99), and
   that wait split at the alert's making (its `at`): the maker's share, then the sender's. Every
   alert must arrive; a delivery id arriving twice is counted;
4. N more records of subjects nobody watches, the watchlist still in place, then (the watchlist
   deleted) N more again: what watching costs the pushes it does not concern, against the same
   mean.
With --worker-in-server each server process makes and sends them itself (REGISTRY_DELIVERY_WORKER=
server). With --separate-worker the server's worker is off and the bench starts `registry
deliveries run` itself (--worker-processes, --worker-nice). With --hold-worker no worker runs while
phase 3 pushes (its alerts wait in the outbox), then `registry deliveries run` makes and sends them
all: the push path's own cost, without a worker competing for the same cores, and the worker's
throughput (push-to-delivery then counts the wait).

Target (issue 16): the push path slows by at most 20 %, p99 push-to-delivery under 2 s.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log
from scripts.benchmarks.ingest import fresh_database
from scripts.benchmarks.records import AGENCY, generate

describe = __doc__.splitlines()[0] if __doc__ else "monitoring"
SECRET = "bench-webhook-secret-0123456789"
TARGET_SLOWDOWN = 0.20
TARGET_P99_S = 2.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # webhooks come a dozen at once
    daemon_threads = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--watched", type=int, default=100_000, help="watched identifiers (default 100000)")
    parser.add_argument("--records", type=int, default=10_000, help="records per phase (default 10000)")
    parser.add_argument("--batch", type=int, default=500, help="records per push (default 500)")
    parser.add_argument("--poll", type=float, default=0.2, help="the delivery worker's idle poll, s")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--worker-in-server",
        action="store_true",
        help="each server process makes and sends (REGISTRY_DELIVERY_WORKER=server), not the process "
        "`registry serve` starts beside them",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="deliver from `registry deliveries run` in its own process, not the server's task",
    )
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=1,
        help="with --separate-worker or --hold-worker: how many `registry deliveries run` (default 1)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="`registry deliveries run --nice` for those workers (default 10, the command's own)",
    )
    parser.add_argument(
        "--hold-worker",
        action="store_true",
        help="no worker while the watched records are pushed; `registry deliveries run` after them",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="runs of the whole bench, each on a fresh database; with more than one, the medians too "
        "(one run's push path swings by a third on a shared machine)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default 600)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="PostgreSQL server (SQLAlchemy URL); a fresh database is created on it and dropped",
    )


class Receiver:
    """Acknowledges every POST at once and notes when each alert arrived, in a process of its own: a
    receiver is another system, and its work must not take the interpreter lock of the client
    whose pushes are timed (it did, in this process: 0.14 ms per webhook)."""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_receive, args=(self.port, child), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def report(self) -> tuple[dict[str, float], dict[str, int]]:
        """When each identifier's first alert arrived (monotonic, the same clock in every process
        on Linux), and how many POSTs each delivery id came in."""
        arrived, deliveries, _ = self.report_all()
        return arrived, deliveries

    def report_all(self) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
        """`report`, and for each identifier's first alert the seconds from its making (the alert's
        `at`) to its arrival: the sending's share of the wait."""
        self._pipe.send("report")
        arrived, deliveries, in_flight = self._pipe.recv()
        return arrived, deliveries, in_flight

    def __enter__(self) -> "Receiver":
        self._process.start()
        if not self._pipe.poll(30) or self._pipe.recv() != "listening":
            raise BenchFailure("the webhook receiver did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=10)


def _receive(port: int, pipe: Connection) -> None:
    """The receiver process: serves until told to stop, answering reports on `pipe`."""
    arrived: dict[str, float] = {}
    in_flight: dict[str, float] = {}  # from the alert's making (its `at`, wall clock) to arrival
    deliveries: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a receiver behind any web server answers

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            now, wall = time.monotonic(), time.time()
            alert = orjson.loads(body)
            identifier = alert["identifier"]
            made = datetime.fromisoformat(alert["at"].replace("Z", "+00:00")).timestamp()
            with lock:
                if identifier not in arrived:
                    arrived[identifier], in_flight[identifier] = now, wall - made
                delivery = self.headers.get("X-Registry-Delivery", "")
                deliveries[delivery] = deliveries.get(delivery, 0) + 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = _Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send("listening")
    while pipe.recv() == "report":
        with lock:
            pipe.send((dict(arrived), dict(deliveries), dict(in_flight)))
    server.shutdown()
    server.server_close()


def _push(
    client: httpx.Client, token: str, bodies: Sequence[dict[str, Any]], batch: int
) -> tuple[float, dict[str, float]]:
    """Seconds spent pushing, and when each subject's push returned (monotonic)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    spent, done = 0.0, {}
    for start in range(0, len(bodies), batch):
        chunk = bodies[start : start + batch]
        payload = orjson.dumps({"records": chunk})
        began = time.monotonic()
        answer = client.post("/v1/records/batch", content=payload, headers=headers)
        ended = time.monotonic()
        if answer.status_code != 200 or answer.json()["created"] != len(chunk):
            raise BenchFailure(f"batch push answered {answer.status_code}: {answer.text[:300]}")
        spent += ended - began
        for body in chunk:
            done[body["subject"]["identifier"]] = ended
    return spent, done


def _filler(count: int, start: int) -> list[str]:
    return [body["subject"]["identifier"] for body in generate(count, tag="filler", start=start)]


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    records = args.records
    baseline_bodies = generate(records, tag="base", start=0)
    watched_bodies = generate(records, tag="watched", start=records)
    watched = [body["subject"]["identifier"] for body in watched_bodies]
    watched += _filler(max(args.watched - records, 0), 2 * records)
    poll = "0" if args.separate_worker or args.hold_worker else str(args.poll)
    env = {"REGISTRY_DELIVERY_POLL_SECONDS": poll, "REGISTRY_SWEEP_INTERVAL_SECONDS": "0"}
    if args.worker_in_server:
        env["REGISTRY_DELIVERY_WORKER"] = "server"
    unwatched_bodies = generate(records, tag="unwatched", start=10_000_000 + records)
    after_bodies = generate(records, tag="after", start=10_000_000 + 2 * records)
    with (
        harness.temp_dir(f"registry-bench-monitoring-{kind}-") as workdir,
        fresh_database(kind, workdir, args.postgres_url, "monitoring") as url,
        harness.RegistryServer(url, Path(workdir) / "server", extra_env=env) as server,
        Receiver() as receiver,
        httpx.Client(base_url=server.base_url, timeout=args.timeout) as client,
    ):
        pusher = server.client_token(AGENCY, ["records:write"])
        approver = server.client_token("national.market_regulation", ["checks:write"])
        # Warm up the push path (first requests load caches) on records not measured.
        _push(client, pusher, generate(min(200, records), tag="warm", start=10_000_000), args.batch)
        log(f"{kind}: baseline, {records} records, no watchlist")
        baseline_s, _ = _push(client, pusher, baseline_bodies, args.batch)
        harness.analyze(url)
        workers: list[subprocess.Popen[bytes]] = []

        def start_workers() -> list[subprocess.Popen[bytes]]:
            return [
                subprocess.Popen(
                    [
                        *(str(harness.REGISTRY), "deliveries", "run"),
                        *("--poll", str(args.poll), "--nice", str(args.worker_nice)),
                    ],
                    cwd=server.data_dir,
                    env=server.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(args.worker_processes)
            ]

        try:
            if args.separate_worker:  # up and idle before anything is watched
                workers = start_workers()
            log(f"{kind}: a watchlist of {len(watched)} identifiers")
            began = time.monotonic()
            made = client.post(
                "/v1/watchlists",
                json={
                    "name": "bench",
                    "action": "administrative_license",
                    "identifiers": watched,
                    "callback_url": receiver.url,
                    "secret": SECRET,
                },
                headers={"Authorization": f"Bearer {approver}"},
            )
            watchlist_s = time.monotonic() - began
            if made.status_code != 201:
                raise BenchFailure(f"POST /v1/watchlists answered {made.status_code}: {made.text[:300]}")
            harness.analyze(url)
            log(f"{kind}: {records} watched records pushed")
            watched_s, pushed_at = _push(client, pusher, watched_bodies, args.batch)
            drain_began = time.monotonic()
            if args.hold_worker:
                workers = start_workers()
            deadline = time.monotonic() + max(60.0, records / 50)
            arrived, _ = receiver.report()
            while len(arrived) < records and time.monotonic() < deadline:
                time.sleep(0.1)
                arrived, _ = receiver.report()
            if len(arrived) < records:
                raise BenchFailure(f"{len(arrived)} of {records} alerts arrived before the deadline")
            drain_s = max(arrived.values()) - drain_began
            log(f"{kind}: {records} records nobody watches pushed")
            unwatched_s, _ = _push(client, pusher, unwatched_bodies, args.batch)
            gone = client.delete(
                f"/v1/watchlists/{made.json()['id']}", headers={"Authorization": f"Bearer {approver}"}
            )
            if gone.status_code != 200:
                raise BenchFailure(f"DELETE /v1/watchlists answered {gone.status_code}")
            log(f"{kind}: {records} more, no watchlist any more")
            after_s, _ = _push(client, pusher, after_bodies, args.batch)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        arrived, deliveries, in_flight = receiver.report_all()
    latencies = sorted(arrived[i] - pushed_at[i] for i in pushed_at)
    sending = sorted(in_flight[i] for i in pushed_at)
    making = sorted(arrived[i] - in_flight[i] - pushed_at[i] for i in pushed_at)
    # Pushes with no watchlist before and after (their mean): one phase alone swung by a third
    # between runs (a checkpoint, autovacuum on the fresh tables) and made the slowdown a lottery.
    reference_s = (baseline_s + after_s) / 2
    per_record_ms = (watched_s - reference_s) / records * 1000
    return {
        "database": kind,
        "records": records,
        "watched": len(watched),
        "batch": args.batch,
        "baseline_push_s": round(baseline_s, 3),
        "watched_push_s": round(watched_s, 3),
        "reference_push_s": round(reference_s, 3),
        "slowdown": round(watched_s / reference_s - 1, 3),
        "unwatched_push_s": round(unwatched_s, 3),
        "no_watchlist_again_push_s": round(after_s, 3),
        "unwatched_slowdown": round(unwatched_s / reference_s - 1, 3),
        "separate_worker": bool(args.separate_worker),
        "worker_in_server": bool(args.worker_in_server),
        "hold_worker": bool(args.hold_worker),
        "worker_processes": args.worker_processes if args.separate_worker or args.hold_worker else 0,
        "worker_nice": args.worker_nice if args.separate_worker or args.hold_worker else None,
        "last_delivery_after_pushes_s": round(drain_s, 3),
        "added_ms_per_record": round(per_record_ms, 3),
        "watchlist_create_s": round(watchlist_s, 3),
        "push_to_delivery_s": _percentiles(latencies),
        # The wait split in two: from the push to the alert's making, from its making to arrival.
        "push_to_made_s": _percentiles(making),
        "made_to_delivery_s": _percentiles(sending),
        "delivered": len(arrived),
        "delivery_ids_received_twice": sum(1 for n in deliveries.values() if n > 1),
    }


def _percentiles(ordered: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max": round(ordered[-1], 3),
    }


def run(args: argparse.Namespace) -> int:
    if args.records < 1 or args.batch < 1 or args.rounds < 1 or args.watched < args.records:
        print(
            "scripts/bench monitoring: --records, --batch, --rounds >= 1 and --watched >= --records",
            file=sys.stderr,
        )
        return 2
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    with harness.sigterm_unwinds():
        try:
            if "postgres" in kinds:
                harness.ensure_postgres(args.postgres_url)
            for _ in range(args.rounds):
                for kind in kinds:
                    results.append(bench_database(kind, args))
        except BenchFailure as exc:
            print(f"scripts/bench monitoring: FAILED: {exc}", file=sys.stderr)
            return 1
    rows = [
        [
            r["database"],
            f"{r['records']:,}",
            f"{r['watched']:,}",
            f"{r['baseline_push_s']:.2f}, {r['no_watchlist_again_push_s']:.2f}",
            f"{r['watched_push_s']:.2f}",
            f"{r['slowdown'] * 100:+.0f} %",
            f"{r['unwatched_slowdown'] * 100:+.0f} %",
            f"{r['added_ms_per_record']:.3f}",
            f"{r['push_to_delivery_s']['p50']:.2f}",
            f"{r['push_to_delivery_s']['p99']:.2f}",
            f"{r['push_to_made_s']['p99']:.2f} + {r['made_to_delivery_s']['p99']:.2f}",
            f"{r['watchlist_create_s']:.1f}",
        ]
        for r in results
    ]
    headers = [
        "database",
        "records",
        "watched",
        "push s (none: before, after)",
        "push s (watched)",
        "slowdown",
        "unwatched push",
        "added ms/record",
        "delivery p50 s",
        "delivery p99 s",
        "p99 made + sent s",
        "watchlist s",
    ]
    print()
    print(harness.table(headers, rows))
    if args.rounds > 1:
        for kind in kinds:
            mine = [r for r in results if r["database"] == kind]
            slowdown = statistics.median(r["slowdown"] for r in mine)
            p99 = statistics.median(r["push_to_delivery_s"]["p99"] for r in mine)
            print(f"{kind}, median of {len(mine)} runs: push path {slowdown * 100:+.0f} %, p99 {p99:.2f} s")
    print(
        f"\ntarget: push path slower by at most {TARGET_SLOWDOWN:.0%}, "
        f"p99 push-to-delivery < {TARGET_P99_S} s"
    )
    path = harness.write_results(
        "monitoring", {"machine": harness.machine(), "params": vars(args), "results": results}
    )
    print(f"results written to {path}")
    return 0
