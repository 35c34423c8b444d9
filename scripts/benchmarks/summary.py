"""One table of the figures that matter, read from each suite's bench-results/<suite>.json.

Each row: suite, database, figure, value, and the reference it is judged against (a target, or the
ceiling of bare endpoint and raw driver measured in the same run — the ratios hold on a noisy machine).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = list[str]


def _ingest(data: dict[str, Any]) -> list[Row]:
    rows = []
    for r in data["results"]:
        rows.append(
            [
                "ingest",
                r["database"],
                f"records/s through the API (batch {r['batch']}, {r['records']:,} records, "
                f"{r.get('server_workers', 1)} worker(s) / {r.get('concurrency', 1)} client(s))",
                f"{r['api']['records_per_s']:,.0f}",
                f"raw driver {r['raw']['records_per_s']:,.0f} (ratio {r['ratio_api_raw']:.2f}); "
                "target 5,000 on PG",
            ]
        )
    return rows


def _checks(data: dict[str, Any]) -> list[Row]:
    rows = []
    for r in data["results"]:
        checks = r["checks"]
        if "ping_over_bare" in r:
            rows.append(
                [
                    "checks",
                    r["database"],
                    "app ping (GET /healthz) ÷ bare FastAPI",
                    f"{r['ping_over_bare']:.2f}",
                    f"{r['ping']['requests_per_s']:,.0f} / {r['bare']['requests_per_s']:,.0f} req/s; "
                    "target 0.75",
                ]
            )
        rows += [
            [
                "checks",
                r["database"],
                f"POST /v1/checks per s ({r['subjects']:,} subjects)",
                f"{checks['requests_per_s']:,.0f}",
                f"ceiling {r['ceiling_per_s']:,.0f} (bare {r['bare']['requests_per_s']:,.0f}, raw "
                f"{r['raw_queries_per_s']:,.0f}): efficiency {r['efficiency']:.2f} (target 0.45); "
                f"p50 {checks['p50_ms']:.0f} ms, p99 {checks['p99_ms']:.0f} ms",
            ],
            [
                "checks",
                r["database"],
                f"one batch check of {r['batch']['items']:,}",
                f"{r['batch']['median_s']:.2f} s",
                "target < 1 s on PG",
            ],
        ]
    return rows


def _public(data: dict[str, Any]) -> list[Row]:
    r, subjects = data["results"], data["params"]["subjects"]
    lookup, search, report = r["lookup"], r["search"], r["report"]
    ping = []
    if "ping_over_bare" in lookup:
        ping.append(
            [
                "public",
                "postgres",
                "app ping (GET /v1/public/ping) ÷ bare FastAPI",
                f"{lookup['ping_over_bare']:.2f}",
                f"{lookup['ping_requests_per_s']:,} / {lookup['bare_requests_per_s']:,} req/s; target 0.75",
            ]
        )
    return [
        *ping,
        [
            "public",
            "postgres",
            f"identifier lookups per s ({subjects:,} subjects)",
            f"{lookup['lookup_requests_per_s']:,}",
            f"ceiling {lookup['ceiling_requests_per_s']:,} (bare {lookup['bare_requests_per_s']:,}, raw "
            f"{lookup['raw_queries_per_s']:,}): efficiency {lookup['efficiency']:.2f} (target 0.6)",
        ],
        [
            "public",
            "postgres",
            "name search latency p50 / p95",
            f"{search['p50_ms']:.0f} / {search['p95_ms']:.0f} ms",
            "target p95 < 50 ms",
        ],
        [
            "public",
            "postgres",
            "credit report PDF over HTTP p50 (render alone)",
            f"{report['http_p50_ms']:.0f} ms ({report['render_p50_ms']:.0f} ms)",
            "",
        ],
    ]


def _soak(data: dict[str, Any]) -> list[Row]:
    rows = []
    for r in data["results"]:
        memory = r["memory"]
        rows += [
            [
                "soak",
                r["database"],
                f"mixed requests per s ({r['workers']} workers, {r['seconds']:.0f} s)",
                f"{r['requests_per_s']:,.0f}",
                f"{r['errors']} errors, {r['lost_records']} of {r['acknowledged_records']:,} records lost",
            ],
            [
                "soak",
                r["database"],
                "memory per worker (after warm-up -> end)",
                f"{memory.get('per_worker_mib_after_warmup')} -> {memory.get('per_worker_mib_at_end')} MiB",
                "flat" if memory.get("flat") else "GROWING",
            ],
        ]
    return rows


def _search_quality(data: dict[str, Any]) -> list[Row]:
    rows = []
    for database, r in data["results"]["quality"].items():
        rows.append(
            [
                "search-quality",
                database,
                f"name search recall@1 / recall@5 ({r['queries']} labelled queries)",
                f"{r['recall_at_1']:.3f} / {r['recall_at_5']:.3f}",
                f"{r['listed_as_clean_misses']} listed-as-clean misses; target recall@5 >= 0.95, none",
            ]
        )
    latency = data["results"].get("latency")
    if latency:
        rows.append(
            [
                "search-quality",
                "postgres",
                f"name search latency p50 / p95 ({latency['subjects']:,} subjects)",
                f"{latency['p50_ms']:.1f} / {latency['p95_ms']:.1f} ms",
                "target p95 < 15 ms",
            ]
        )
    return rows


def _monitoring(data: dict[str, Any]) -> list[Row]:
    return [
        [
            "monitoring",
            r["database"],
            f"push path with {r['watched']:,} watched identifiers ({r['records']:,} records)",
            f"{r['slowdown'] * 100:+.0f} % ({r['added_ms_per_record']:.2f} ms/record)",
            f"target <= +20 %; push-to-delivery p50 {r['push_to_delivery_s']['p50']:.2f} s, "
            f"p99 {r['push_to_delivery_s']['p99']:.2f} s (target < 2 s)",
        ]
        for r in data["results"]
    ]


HEADLINES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "ingest": _ingest,
    "checks": _checks,
    "public": _public,
    "soak": _soak,
    "monitoring": _monitoring,
    "search-quality": _search_quality,
}
HEADERS = ["suite", "database", "figure", "value", "against"]


def rows(results_dir: Path, suites: list[str]) -> list[Row]:
    found: list[Row] = []
    for suite in suites:
        path = results_dir / f"{suite}.json"
        if suite in HEADLINES and path.exists():
            try:
                found += HEADLINES[suite](json.loads(path.read_text()))
            except (KeyError, TypeError, ValueError) as exc:
                found.append([suite, "?", f"unreadable results ({type(exc).__name__}: {exc})", "", ""])
    return found


def markdown(table_rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows]
    return "\n".join(lines) + "\n"
