"""Before and after in one run: a suite of an earlier commit and of this checkout, taken in turns.

`scripts/bench compare SUITE --ref REF [--ref REF2] [--rounds N] [--args "SUITE OPTIONS"]` checks REF out
into a temporary git worktree, sets it up (its own .venv, its own `scripts/setup`), then runs
`scripts/bench SUITE` of every side — each ref, then this checkout — in turn for --rounds rounds, so
that the machine's drift falls on every side alike. Each side measures itself with its own benchmark
code (an earlier commit's database schema is its own), and every number both sides' result files
hold under the same name is printed side by side: the range over the rounds and the ratio of the
medians (this checkout ÷ the first ref). The whole comparison is written to
bench-results/compare-SUITE.json. The worktrees are removed on the way out.
"""

import argparse
import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log

describe = __doc__.splitlines()[0] if __doc__ else "before and after"
SUITE_TIMEOUT_S = 3 * 3600
# Result fields that describe the run rather than measure it.
_NOT_FIGURES = {"params", "machine", "targets", "postgres_version"}
# A suite's own rounds (the summary figures above them are shown; the JSON keeps every round).
_PER_ROUND = re.compile(r"rounds\[\d+\]|_by_round\[|seconds\[\d+\]")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", help="the suite to run on every side (checks, public, ingest, ...)")
    parser.add_argument(
        "--ref", action="append", required=True, help="a commit to compare with (repeat for several)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="turns of every side (default 2)")
    parser.add_argument(
        "--args", dest="suite_args", default="", help='the suite\'s own options, e.g. "--db postgres"'
    )


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(harness.ROOT), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise BenchFailure(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _worktree(ref: str, parent: Path) -> Path:
    commit = _git("rev-parse", "--short", f"{ref}^{{commit}}")
    path = parent / commit
    _git("worktree", "add", "--detach", str(path), commit)
    log(f"{ref} ({commit}) checked out in {path}; setting it up")
    done = subprocess.run(
        [str(path / "scripts" / "setup"), "test"], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise BenchFailure(f"scripts/setup of {ref} failed:\n{done.stderr[-2000:]}")
    return path


def figures(data: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every number of a result file by a readable path; list items named by their database/batch."""
    if isinstance(data, bool):
        return
    if isinstance(data, int | float):
        yield prefix, float(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            if not prefix and key in _NOT_FIGURES:
                continue
            yield from figures(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            name = str(index)
            if isinstance(item, dict):
                named_by = (item.get(key) for key in ("database", "batch"))
                name = "/".join(str(v) for v in named_by if isinstance(v, str | int)) or name
            yield from figures(item, f"{prefix}[{name}]")


def _run_side(root: Path, suite: str, suite_args: list[str]) -> dict[str, float]:
    result_file = root / "bench-results" / f"{suite}.json"
    result_file.unlink(missing_ok=True)
    log(f"running {suite} of {root}")
    done = subprocess.run(
        [str(root / "scripts" / "bench"), suite, *suite_args],
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
        stderr=sys.stderr,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not result_file.exists():
        raise BenchFailure(f"scripts/bench {suite} of {root} failed ({done.returncode})")
    return dict(figures(json.loads(result_file.read_text())))


def _span(values: list[float]) -> str:
    def number(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"

    low, high = min(values), max(values)
    return number(low) if low == high else f"{number(low)}–{number(high)}"


def run(args: argparse.Namespace) -> int:
    suite_args = shlex.split(args.suite_args)
    parent = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    sides: list[tuple[str, Path]] = []
    try:
        with harness.sigterm_unwinds():
            for ref in args.ref:
                sides.append((ref, _worktree(ref, parent)))
            sides.append((f"this checkout ({harness.machine()['commit']})", harness.ROOT))
            taken: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
            for turn in range(args.rounds):
                for name, root in sides:
                    log(f"round {turn + 1}/{args.rounds}: {name}")
                    taken[name].append(_run_side(root, args.suite, suite_args))
    except BenchFailure as exc:
        print(f"scripts/bench compare: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        for _, root in sides:
            if root != harness.ROOT:
                subprocess.run(
                    ["git", "-C", str(harness.ROOT), "worktree", "remove", "--force", str(root)],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
        shutil.rmtree(parent, ignore_errors=True)
        subprocess.run(
            ["git", "-C", str(harness.ROOT), "worktree", "prune"], capture_output=True, check=False
        )

    names = [name for name, _ in sides]
    print()
    print(render(taken, names))
    path = harness.write_results(
        f"compare-{args.suite}",
        {
            "suite": f"compare {args.suite}",
            "machine": harness.machine(),
            "params": {"refs": args.ref, "rounds": args.rounds, "suite_args": suite_args},
            "sides": {name: taken[name] for name in names},
        },
    )
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    return 0


def render(taken: dict[str, list[dict[str, float]]], names: list[str]) -> str:
    """The figures every side measured, side by side: each side's range over its rounds, and the
    ratio of the last side's median to the first's."""
    common = [
        key
        for key in taken[names[-1]][0]
        if all(key in taken[name][0] for name in names) and not _PER_ROUND.search(key)
    ]
    rows = []
    for key in common:
        series = {name: [run[key] for run in taken[name] if key in run] for name in names}
        first, last = statistics.median(series[names[0]]), statistics.median(series[names[-1]])
        ratio = f"{last / first:.2f}" if first else "–"
        rows.append([key, *(_span(series[name]) for name in names), ratio])
    lines = [harness.table(["figure", *names, "last ÷ first (medians)"], rows)]
    only = sorted(key for key in set(taken[names[-1]][0]) - set(common) if not _PER_ROUND.search(key))
    if only:
        lines.append(f"\nmeasured by this checkout only: {', '.join(only)}")
    return "\n".join(lines)
