"""Screening quality and speed: precision and recall of POST /v1/screen's score at its threshold over
labelled name pairs, and the latency of a screening over a registry of many subjects.

1. Quality (pure, no database): pairs of names labelled "same entity" or "different entities", made
   from the naming rules, never by asking the matcher. Companies are named 行政区划 + 字号 + 行业 +
   组织形式 (企业名称登记管理规定 第六条; scripts/bench search-quality's generator). The same company
   written otherwise: another spelling of its legal form, or none (公司法 第七条: 有限责任公司 may be
   written 有限公司); full-width spaces and brackets (GB 18030 both widths); traditional characters
   (OpenCC s2t); one character replaced by a homophone (GB 2312 level 1, one reading, the same
   toneless pinyin: what a pinyin input method offers); the place left out (第七条 allows names
   without it) or written with its province or without 市; the name in pinyin, spaced or not, with or
   without the place and the legal form in pinyin. Different entities with similar names: another
   trade name in the same place and industry; the same trade name in another industry; the same
   name in another city (第十七条: names are unique within one registration authority's area only);
   one character of the trade name changed to a character that does not sound the same. Persons: the
   same name and birth date, a homophone of the given name with the same birth date (same person);
   the same name born on another day, another given name born the same day (different people).
   Homophone trade names of two registered companies in one place are left out: a name cannot tell
   them from a typo, and the threshold takes a homophone for the same entity.
   Printed: per kind, the share scored at or above the threshold; overall precision and recall.
   Targets: precision >= 0.95, recall >= 0.90.
2. Latency (--latency-subjects; each database of --db): that many companies with one record each,
   loaded directly with their search index rows; screenings of labelled queries timed in process
   through app.screening.service.screen, as the endpoint calls it (candidates, scoring, records,
   receipt, the logged row; not HTTP). p50 and p95. Target p95 < 50 ms.
"""

import argparse
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log
from scripts.benchmarks.search_quality import (
    INDUSTRIES,
    OTHER_FORM,
    PLACES,
    TRADE_CHARS,
    Company,
    _company,
    homophone_of,
)

describe = __doc__.splitlines()[0] if __doc__ else "screening"
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.90
TARGET_P95_MS = 50.0
AGENCY = "national.public_security"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅鑫海波宇浩凯晨阳佳欣怡子轩梓涵雨婷"
    "志文斌春燕晓东丹"
)

POSITIVE = (
    "suffix_variant",
    "suffix_dropped",
    "full_width",
    "traditional",
    "homophone",
    "missing_place",
    "place_variant",
    "pinyin",
    "pinyin_no_place",
    "person_same",
    "person_homophone",
)
NEGATIVE = (
    "other_trade",
    "other_industry",
    "other_place",
    "one_char_changed",
    "person_other_birth",
    "person_other_name",
)


@dataclass(frozen=True)
class Pair:
    kind: str
    registered: str
    asked: str
    same: bool
    registered_birth: date | None = None
    asked_birth: date | None = None


def _pinyin(text: str, spaced: bool) -> str:
    from pypinyin import Style, lazy_pinyin

    return (" " if spaced else "").join(lazy_pinyin(text, style=Style.NORMAL))


def _sounds(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(text, style=Style.NORMAL)


def _with_place(rng: random.Random, **given: Any) -> Company:
    while True:
        company = _company(rng, **given)
        if company.place and (
            company.city + "市" == company.place or company.place.startswith(company.province)
        ):
            return company


def company_pairs(rng: random.Random, count: int) -> list[Pair]:
    from opencc import OpenCC

    to_traditional = OpenCC("s2t")
    pairs: list[Pair] = []
    for _ in range(count):
        company = _with_place(rng)
        name, place, form = company.name, company.place, company.form
        without_place = company.trade + company.industry
        core = place + without_place

        def same(kind: str, asked: str | None, registered: str = name) -> None:
            if asked and asked != registered:
                pairs.append(Pair(kind, registered, asked, True))

        def other(kind: str, registered: str, asked: str = name) -> None:
            if registered != asked:
                pairs.append(Pair(kind, registered, asked, False))

        same("suffix_variant", core + OTHER_FORM[form])
        same("suffix_dropped", core)
        same("full_width", f"{place}\u3000{without_place}（{form}）")
        same("traditional", to_traditional.convert(name))
        positions = list(range(len(without_place)))
        rng.shuffle(positions)
        for position in positions:
            replaced = homophone_of(without_place[position], rng)
            if replaced:
                same(
                    "homophone",
                    place + without_place[:position] + replaced + without_place[position + 1 :] + form,
                )
                break
        same("missing_place", without_place + form)
        if place == company.city + "市":
            same("place_variant", f"{company.province}省{place}{without_place}{form}")
        else:
            same("place_variant", f"{company.city}{without_place}{form}")
        same("pinyin", _pinyin(core, spaced=rng.random() < 0.5))
        same(
            "pinyin_no_place",
            _pinyin(without_place, spaced=False) + rng.choice(["", " youxian gongsi", "youxiangongsi"]),
        )

        # Different entities with similar names.
        trade = company.trade
        while trade == company.trade or _sounds(trade) == _sounds(company.trade):
            trade = "".join(rng.sample(TRADE_CHARS, len(company.trade)))
        other("other_trade", place + trade + company.industry + form)
        industry = rng.choice(
            [
                i
                for i in INDUSTRIES
                if i != company.industry and company.industry not in i and i not in company.industry
            ]
        )
        other("other_industry", place + company.trade + industry + form)
        _, cities, _ = rng.choice([p for p in PLACES if p[0] != company.province])
        other("other_place", f"{rng.choice(cities)}市{without_place}{form}")
        position = rng.randrange(len(company.trade))
        sound = _sounds(company.trade[position])
        changed = rng.choice([c for c in TRADE_CHARS if c != company.trade[position] and _sounds(c) != sound])
        other(
            "one_char_changed",
            place
            + company.trade[:position]
            + changed
            + company.trade[position + 1 :]
            + company.industry
            + form,
        )
    return pairs


def person_pairs(rng: random.Random, count: int) -> list[Pair]:
    pairs: list[Pair] = []
    for _ in range(count):
        given = "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        name = rng.choice(SURNAMES) + given
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
        pairs.append(Pair("person_same", name, name, True, born, born))
        for position in range(1, len(name)):
            replaced = homophone_of(name[position], rng)
            if replaced:
                asked = name[:position] + replaced + name[position + 1 :]
                pairs.append(Pair("person_homophone", name, asked, True, born, born))
                break
        other_day = born + timedelta(days=rng.randrange(1, 3650))
        pairs.append(Pair("person_other_birth", name, name, False, born, other_day))
        another = name
        while another == name or _sounds(another) == _sounds(name):
            another = name[0] + "".join(rng.sample(GIVEN, len(name) - 1))
        pairs.append(Pair("person_other_name", name, another, False, born, born))
    return pairs


def build_pairs(companies: int, persons: int, seed: int = 20261206) -> list[Pair]:
    rng = random.Random(seed)
    return company_pairs(rng, companies) + person_pairs(rng, persons)


def quality(pairs: list[Pair]) -> dict[str, Any]:
    from app.screening.match import THRESHOLD, birth_date_score, name_score, prepare

    above: dict[str, list[bool]] = defaultdict(list)
    wrong: list[dict[str, Any]] = []
    tp = fp = fn = 0
    for pair in pairs:
        score, matched = name_score(prepare(pair.asked), prepare(pair.registered))
        score, matched = birth_date_score(score, matched, pair.asked_birth, pair.registered_birth)
        hit = score >= THRESHOLD
        above[pair.kind].append(hit)
        tp += hit and pair.same
        fp += hit and not pair.same
        fn += (not hit) and pair.same
        if hit != pair.same:
            wrong.append(
                {
                    "kind": pair.kind,
                    "registered": pair.registered,
                    "asked": pair.asked,
                    "score": score,
                    "matched": matched,
                }
            )
    return {
        "pairs": len(pairs),
        "same": sum(1 for p in pairs if p.same),
        "different": sum(1 for p in pairs if not p.same),
        "threshold": THRESHOLD,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "by_kind": {
            kind: {"pairs": len(v), "at_or_above": round(sum(v) / len(v), 4)} for kind, v in above.items()
        },
        "wrong": wrong[:40],
    }


# --- latency ---------------------------------------------------------------------------------------


def latency(database: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from scripts.benchmarks.ingest import prepare_schema
    from scripts.benchmarks.search_quality import build, load_registry

    registry, queries = build(200, max(args.latency_subjects - 200, 0))
    log(f"{database}: {len(registry):,} companies, {len(queries):,} queries")
    if database == "sqlite":
        url = f"sqlite:///{workdir / 'screening.db'}"
        prepare_schema(url)
        load_registry(url, registry)
        return _time(url, queries, args.screenings)
    with harness.postgres_database(args.postgres_url, f"bench_screening_{os.getpid()}") as url:
        prepare_schema(url)
        load_registry(url, registry)
        return _time(url, queries, args.screenings)


def _time(url: str, queries: list[tuple[str, str, Any]], count: int) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from app.auth.service import Principal
    from app.db import make_engine
    from app.errors import ValidationFailed
    from app.screening.schemas import ScreenIn
    from app.screening.service import screen
    from scripts.benchmarks.public import percentile

    principal = Principal("bench", AGENCY, frozenset({"checks:write"}))
    rng = random.Random(5)
    asked = [q for kind, q, _ in queries if kind not in ("two_char", "initials", "initials_with_place")]
    rng.shuffle(asked)
    engine = make_engine(url)
    with engine.connect() as connection:  # fresh tables: the planner needs their statistics
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    timings: list[float] = []
    found = 0
    try:
        for index, name in enumerate((asked * (count // max(len(asked), 1) + 2))[: count + 20]):
            started = time.perf_counter()
            with Session(engine) as session:
                try:
                    answer = screen(session, principal, ScreenIn(name=name))
                except ValidationFailed:
                    continue
                session.commit()
            if index >= 20:  # the first ones warm the caches and statements
                timings.append((time.perf_counter() - started) * 1000)
                found += b'"match":true' in answer
    finally:
        engine.dispose()
    return {
        "screenings": len(timings),
        "p50_ms": round(percentile(timings, 0.5), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "with_a_match": round(found / len(timings), 3),
        "load_average": os.getloadavg(),
    }


# --- the run ---------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--companies", type=int, default=250, help="companies the pairs are made from (~11 pairs each)"
    )
    parser.add_argument(
        "--persons", type=int, default=150, help="persons the pairs are made from (4 pairs each)"
    )
    parser.add_argument(
        "--latency-subjects",
        type=int,
        default=1_000_000,
        help="subjects for the latency run (default 1000000, the target's size: about 8 minutes to "
        "load on an idle 2-core machine; 100000 loads in one; 0 skips it)",
    )
    parser.add_argument("--screenings", type=int, default=400, help="screenings timed per database")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="PostgreSQL server (SQLAlchemy URL); a fresh database is made and dropped",
    )


def run(args: argparse.Namespace) -> int:
    pairs = build_pairs(args.companies, args.persons)
    result: dict[str, Any] = {"quality": quality(pairs), "latency": {}}
    figures = result["quality"]
    rows = [
        [kind, str(v["pairs"]), f"{v['at_or_above']:.3f}", "same" if kind in POSITIVE else "different"]
        for kind, v in figures["by_kind"].items()
    ]
    print(
        f"\nscreening quality: {figures['pairs']:,} labelled pairs ({figures['same']:,} same, "
        f"{figures['different']:,} different), threshold {figures['threshold']}"
    )
    print(harness.table(["kind", "pairs", "share >= threshold", "label"], rows))
    for miss in figures["wrong"][:15]:
        print(
            f"  wrong ({miss['kind']}): {miss['asked']!r} vs {miss['registered']!r}: "
            f"{miss['score']} {miss['matched']}"
        )
    good = figures["precision"] >= TARGET_PRECISION and figures["recall"] >= TARGET_RECALL
    print(
        f"precision {figures['precision']:.4f} (target >= {TARGET_PRECISION}), "
        f"recall {figures['recall']:.4f} (target >= {TARGET_RECALL}): {'met' if good else 'NOT met'}"
    )
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with harness.sigterm_unwinds(), harness.temp_dir("bench-screening-") as workdir:
        os.environ.setdefault("REGISTRY_DATA_DIR", str(workdir))
        try:
            if args.latency_subjects:
                if "postgres" in databases:
                    harness.ensure_postgres(args.postgres_url)
                for database in databases:
                    result["latency"][database] = latency(database, args, workdir)
        except BenchFailure as exc:
            print(f"scripts/bench screening: FAILED: {exc}", flush=True)
            return 1
    for database, timing in result["latency"].items():
        fast = timing["p95_ms"] < TARGET_P95_MS
        good = good and fast
        print(
            f"latency ({database}, {args.latency_subjects:,} subjects, in process): "
            f"p50 {timing['p50_ms']} ms, p95 {timing['p95_ms']} ms (target < {TARGET_P95_MS:.0f}): "
            f"{'met' if fast else 'NOT met'}; "
            f"{timing['with_a_match']:.0%} found a match; load average {timing['load_average'][0]:.1f}"
        )
    path = harness.write_results(
        "screening",
        {
            "suite": "screening",
            "machine": harness.machine(),
            "params": {k: v for k, v in vars(args).items() if k != "postgres_url"},
            "results": result,
        },
    )
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    return 0 if good else 1
