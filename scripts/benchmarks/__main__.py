"""`scripts/bench SUITE [options]`: pick a suite, or `all` for every implemented one.

A planned suite (named here so that nobody mistakes its absence for a pass) and an unknown name both
print why and exit 2.
"""

import argparse
import importlib
import sys
from dataclasses import dataclass

from scripts.benchmarks import summary
from scripts.benchmarks.harness import RESULTS_DIR, table

USAGE_EXIT = 2


@dataclass(frozen=True)
class Suite:
    name: str
    summary: str
    module: str | None  # None: planned, not implemented yet
    scale_options: tuple[str, ...] = ()  # the options `all --scale N` sets to N (data set size)
    databases: tuple[str, ...] = ("sqlite", "postgres")  # what it measures (those take --db)
    in_all: bool = True  # run by `scripts/bench all`


SUITES = (
    Suite(
        "ingest",
        "POST /v1/records/batch throughput vs. raw driver inserts",
        "scripts.benchmarks.ingest",
        ("--records",),
    ),
    Suite(
        "checks",
        "POST /v1/checks and /v1/checks/batch (approver checks)",
        "scripts.benchmarks.checks",
        ("--subjects", "--sqlite-subjects"),
    ),
    Suite(
        "public",
        "public one-stop query: lookup efficiency, name search latency, report render",
        "scripts.benchmarks.public",
        ("--subjects",),
        databases=("postgres",),
    ),
    Suite(
        "search-quality",
        "public name search: recall@1/@5 per kind of query; latency at 1,000,000 subjects (PG)",
        "scripts.benchmarks.search_quality",
        ("--latency-subjects",),
    ),
    Suite(
        "screening",
        "POST /v1/screen: precision/recall at the threshold on labelled name pairs; latency",
        "scripts.benchmarks.screening",
        ("--latency-subjects",),
    ),
    Suite(
        "monitoring",
        "watchlists: added cost per pushed record, push-to-webhook latency (p50/p99)",
        "scripts.benchmarks.monitoring",
        ("--records",),
    ),
    Suite(
        "soak",
        "mixed load on several workers: errors, lost records, memory per worker",
        "scripts.benchmarks.soak",
    ),
    Suite(
        "compare",
        "another suite of earlier commits and of this checkout, in turns: before and after in one run",
        "scripts.benchmarks.compare",
        in_all=False,
    ),
)
BY_NAME = {suite.name: suite for suite in SUITES}


def _overview() -> str:
    lines = ["usage: scripts/bench SUITE [options]   (scripts/bench SUITE --help for its options)", ""]
    for suite in SUITES:
        state = "" if suite.module else "   [planned, not implemented yet]"
        lines.append(f"  {suite.name:<14} {suite.summary}{state}")
    lines.append(
        f"  {'all':<14} every implemented suite and one table of the figures (options: --db, --scale)"
    )
    return "\n".join(lines)


def _run_suite(suite: Suite, argv: list[str]) -> int:
    if suite.module is None:
        print(f"scripts/bench: suite {suite.name!r} is planned but not implemented yet", file=sys.stderr)
        return USAGE_EXIT
    module = importlib.import_module(suite.module)
    parser = argparse.ArgumentParser(prog=f"scripts/bench {suite.name}", description=module.describe)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)))


def _run_all(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench all",
        description="Every implemented suite, then one table of their figures (bench-results/summary.md).",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--scale", type=int, help="records or subjects each suite loads (default: each suite's own)"
    )
    args = parser.parse_args(argv)
    implemented = [suite for suite in SUITES if suite.module and suite.in_all]
    planned = [suite.name for suite in SUITES if not suite.module]
    if planned:
        print(f"scripts/bench all: skipping planned suites: {', '.join(planned)}", file=sys.stderr)
    failed = []
    for suite in implemented:
        print(f"== {suite.name}", flush=True)
        scale = (
            [arg for option in suite.scale_options for arg in (option, str(args.scale))] if args.scale else []
        )
        db = [] if len(suite.databases) == 1 else ["--db", args.db]
        if len(suite.databases) == 1 and args.db not in (*suite.databases, "both"):
            print(
                f"scripts/bench all: {suite.name} measures {suite.databases[0]} only; skipped",
                file=sys.stderr,
            )
            continue
        if _run_suite(suite, [*db, *scale]) != 0:
            failed.append(suite.name)
    rows = summary.rows(RESULTS_DIR, [suite.name for suite in implemented])
    print()
    print(table(summary.HEADERS, rows))
    (RESULTS_DIR / "summary.md").write_text(
        f"Scale: {args.scale or 'each suite default'}; database: {args.db}\n\n" + summary.markdown(rows)
    )
    print(f"\ntable written to {(RESULTS_DIR / 'summary.md')}")
    if failed:
        print(f"scripts/bench all: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_overview())
        return 0 if argv else USAGE_EXIT
    name, rest = argv[0], argv[1:]
    if name == "all":
        return _run_all(rest)
    suite = BY_NAME.get(name)
    if suite is None:
        print(f"scripts/bench: unknown suite {name!r}\n\n{_overview()}", file=sys.stderr)
        return USAGE_EXIT
    return _run_suite(suite, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
