"""`scripts/bench SUITE [options]`: pick a suite, or `all` for every implemented one.

A planned suite (named here so that nobody mistakes its absence for a pass) and an unknown name both
print why and exit 2.
"""

import argparse
import importlib
import sys
from dataclasses import dataclass

USAGE_EXIT = 2


@dataclass(frozen=True)
class Suite:
    name: str
    summary: str
    module: str | None  # None: planned, not implemented yet


SUITES = (
    Suite("ingest", "POST /v1/records/batch throughput vs. raw driver inserts", "scripts.benchmarks.ingest"),
    Suite("checks", "POST /v1/checks and /v1/checks/batch (approver checks)", None),
    Suite(
        "public",
        "public one-stop query: lookup efficiency, name search latency, report render",
        "scripts.benchmarks.public",
    ),
)
BY_NAME = {suite.name: suite for suite in SUITES}


def _overview() -> str:
    lines = ["usage: scripts/bench SUITE [options]   (scripts/bench SUITE --help for its options)", ""]
    for suite in SUITES:
        state = "" if suite.module else "   [planned, not implemented yet]"
        lines.append(f"  {suite.name:<8} {suite.summary}{state}")
    lines.append(f"  {'all':<8} every implemented suite, each with its defaults (option: --db)")
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
    parser = argparse.ArgumentParser(prog="scripts/bench all", description="Every implemented suite.")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    implemented = [suite for suite in SUITES if suite.module]
    planned = [suite.name for suite in SUITES if not suite.module]
    if planned:
        print(f"scripts/bench all: skipping planned suites: {', '.join(planned)}", file=sys.stderr)
    failed = []
    for suite in implemented:
        print(f"== {suite.name}", flush=True)
        if _run_suite(suite, ["--db", args.db]) != 0:
            failed.append(suite.name)
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
