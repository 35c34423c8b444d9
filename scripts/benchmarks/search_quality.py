"""Search quality: recall@1 and recall@5 of GET /v1/public/search over a labelled set of what people
type, per kind of query; and name-search latency at a million subjects on PostgreSQL.

1. Quality (each database asked for, in process through app.public.search.search, as the endpoint
   calls it): companies named by the enterprise-name rules (企业名称登记管理规定: 行政区划 + 字号 +
   行业 + 组织形式), each with one black-list record in public force, plus distractors sharing their
   trade name, their sounds or their place and industry. Queries are made from the names by those
   same rules, never by asking the matcher: the two-character trade name; a homophone (one character
   replaced by another common character, GB 2312 level 1, with the same toneless pinyin by pypinyin,
   as a pinyin input method offers it); initials of the name without its place and with it; the
   name in traditional characters (OpenCC s2t); another legal form; the place left out or written
   otherwise; full-width letters and punctuation. A query's label is the company it was made from.
   Printed: recall@1, recall@5 per kind and overall, and listed-as-clean misses: a listed company
   its query does not find at all (the page would say 未查询到). Target: recall@5 >= 0.95, none of those.
2. Latency (--latency-subjects, PostgreSQL): scripts/bench public's data set (companies and persons,
   one record each, loaded with COPY; the search index rows made by app.records.search_index), one
   server process, one request at a time; p50 and p95 of a mix of two-character names, homophones,
   initials, substrings, suffix variants, pinyin and persons' names (the data set's persons have
   nothing in public force: their names are misses). Target p95 < 15 ms. Also the CPU time a search
   costs the server and PostgreSQL together, which other people's load on a shared machine does not
   inflate as it does the wall-clock figures.
"""

import argparse
import os
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from scripts.benchmarks import harness
from scripts.benchmarks.harness import BenchFailure, log

describe = __doc__.splitlines()[0] if __doc__ else "search quality"
TARGET_RECALL_AT_5 = 0.95
TARGET_P95_MS = 15.0
AGENCY = "national.public_security"
DOMAIN = "telecom_fraud"

# 行政区划: (province, its cities, county-level cities written with 市). Written here, not taken from
# the matcher's list: some of these places (滕州, 义乌, 昆山) are not in it by name.
PLACES = [
    ("山东", ["济南", "青岛", "枣庄", "烟台", "潍坊", "临沂"], ["滕州", "龙口", "寿光"]),
    ("江苏", ["南京", "苏州", "无锡", "常州", "徐州", "南通"], ["昆山", "江阴", "张家港"]),
    ("浙江", ["杭州", "宁波", "温州", "绍兴", "金华", "台州"], ["义乌", "慈溪", "乐清"]),
    ("广东", ["广州", "深圳", "佛山", "东莞", "珠海", "汕头"], ["英德", "台山"]),
    ("河南", ["郑州", "洛阳", "南阳", "新乡", "许昌"], ["巩义", "禹州"]),
    ("四川", ["成都", "绵阳", "宜宾", "南充", "乐山"], ["都江堰", "峨眉山"]),
    ("湖北", ["武汉", "宜昌", "襄阳", "荆州"], ["仙桃", "潜江"]),
    ("河北", ["石家庄", "唐山", "保定", "邯郸", "廊坊"], ["三河", "辛集"]),
]
MUNICIPALITIES = ["北京", "上海", "天津", "重庆"]
# 字号: characters trade names are commonly made of.
TRADE_CHARS = (
    "鑫达通华盛恒泰源兴隆宏伟丰瑞祥福嘉信诚汇金银宝安康博创新天元德仁和美利富强振中东方远航海山云峰星辰"
    "光明阳春亿万佳豪凯旭晨欣腾龙凤鹏锦绣益众联合正大立志成卓越永昌顺荣辉俊朗润泽维森林宇宙浩"
)
# 行业或者经营特点
INDUSTRIES = [
    "通讯器材", "建材", "科技", "电子科技", "贸易", "商贸", "物流", "餐饮管理", "食品", "医药",
    "机械制造", "化工", "服装", "房地产开发", "建筑工程", "信息技术", "文化传媒", "农业科技", "汽车销售",
    "物业管理", "环保科技", "新能源", "家具", "印刷", "包装材料", "钢铁", "纺织", "酒店管理", "教育咨询",
    "网络科技",
]  # fmt: skip
# 组织形式, with how often each is drawn
LEGAL_FORMS = [("有限公司", 55), ("有限责任公司", 25), ("股份有限公司", 15), ("集团有限公司", 5)]
OTHER_FORM = {
    "有限公司": "有限责任公司",
    "有限责任公司": "有限公司",
    "股份有限公司": "有限公司",
    "集团有限公司": "集团有限责任公司",
}
KINDS = [
    "exact",
    "two_char",
    "homophone",
    "initials",
    "initials_with_place",
    "traditional",
    "suffix_variant",
    "no_place",
    "place_variant",
    "full_width",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--companies", type=int, default=150, help="labelled companies (default 150)")
    parser.add_argument(
        "--distractors", type=int, default=1500, help="other companies in the registry (default 1500)"
    )
    parser.add_argument(
        "--latency-subjects",
        type=int,
        default=1_000_000,
        help="subjects for the PostgreSQL latency run (default 1000000; 0 skips it)",
    )
    parser.add_argument("--searches", type=int, default=600, help="name searches timed (default 600)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="PostgreSQL server (SQLAlchemy URL); fresh databases are made and dropped",
    )


# --- the labelled set ------------------------------------------------------------------------------


@cache
def _homophones() -> dict[str, list[str]]:
    """Toneless pinyin -> the GB 2312 level-1 characters (the 3,755 most common) read that way."""
    from pypinyin import Style, pinyin

    found: dict[str, list[str]] = defaultdict(list)
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes([high, low]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
            if len(readings) == 1:  # one reading only: the input method offers it for that sound
                found[readings[0]].append(char)
    return found


def homophone_of(char: str, rng: random.Random) -> str | None:
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    choices = [c for c in _homophones().get(readings[0], []) if c != char] if len(readings) == 1 else []
    return rng.choice(choices) if choices else None


@dataclass
class Company:
    province: str
    city: str
    place: str  # as written in the name
    trade: str
    industry: str
    form: str
    name: str = ""
    subject_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _company(rng: random.Random, trade: str | None = None, industry: str | None = None) -> Company:
    province, cities, counties = rng.choice(PLACES)
    city = rng.choice(cities)
    style = rng.random()
    if style < 0.35:
        place = f"{city}市"
    elif style < 0.55:
        place = f"{province}省{city}市"
    elif style < 0.65:
        place = f"{rng.choice(counties)}市"
    elif style < 0.75:
        place = rng.choice(MUNICIPALITIES) + "市"
    elif style < 0.85:
        place = city  # written without 市
    else:
        place = ""  # a name registered without a place (企业名称登记管理规定 第七条)
    if trade is None:
        trade = "".join(rng.sample(TRADE_CHARS, 2 if rng.random() < 0.8 else 3))
    industry = industry or rng.choice(INDUSTRIES)
    form = rng.choices([f for f, _ in LEGAL_FORMS], weights=[w for _, w in LEGAL_FORMS])[0]
    company = Company(province, city, place, trade, industry, form)
    company.name = place + trade + industry + form
    return company


def _initials(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(s[0] for s in lazy_pinyin(text, style=Style.NORMAL) if s)


def _full_width(text: str) -> str:
    """Letters and digits in their full-width forms, brackets and spaces as a Chinese keyboard types them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def build(
    companies: int, distractors: int, seed: int = 20261206
) -> tuple[list[Company], list[tuple[str, str, uuid.UUID]]]:
    """The registry's companies and the labelled queries (kind, query, the company meant)."""
    from opencc import OpenCC

    to_traditional = OpenCC("s2t")
    rng = random.Random(seed)
    names: set[str] = set()
    registry: list[Company] = []

    def add(company: Company) -> Company | None:
        if company.name in names:
            return None
        names.add(company.name)
        registry.append(company)
        return company

    targets: list[Company] = []
    while len(targets) < companies:
        company = add(_company(rng))
        if company is None:
            continue
        targets.append(company)
        # Distractors made from it: its trade name in another trade and place (at most two, so that a
        # two-character query can still put it among the first five), the same trade elsewhere.
        for _ in range(rng.randrange(0, 3)):
            add(_company(rng, trade=company.trade))
        if rng.random() < 0.3:
            add(_company(rng, industry=company.industry))
    while len(registry) < companies + distractors:
        add(_company(rng))

    queries: list[tuple[str, str, uuid.UUID]] = []
    for company in targets:
        core = company.place + company.trade + company.industry
        without_place = company.trade + company.industry
        made: dict[str, str | None] = {
            "exact": company.name,
            "two_char": company.trade if len(company.trade) == 2 else None,
            "initials": _initials(without_place),
            "initials_with_place": _initials(core) if company.place else None,
            "suffix_variant": core + OTHER_FORM[company.form],
            "no_place": without_place + company.form if company.place else None,
            "full_width": _full_width(_initials(without_place).upper()),
        }
        # A homophone of one character of the trade name or the industry.
        positions = list(range(len(without_place)))
        rng.shuffle(positions)
        for position in positions:
            other = homophone_of(without_place[position], rng)
            if other:
                made["homophone"] = without_place[:position] + other + without_place[position + 1 :]
                break
        traditional = to_traditional.convert(company.name)
        made["traditional"] = traditional if traditional != company.name else None
        if company.place:
            # The place written otherwise: the city without 市, or with its province.
            if company.place.endswith("市") and company.city + "市" == company.place:
                made["place_variant"] = f"{company.province}{company.city}{without_place}"
            else:
                made["place_variant"] = f"{company.city}{without_place}{company.form}"
                if not company.place.startswith(company.province):
                    made["place_variant"] = None  # a county or a municipality: no city to write
        else:
            made["place_variant"] = f"{company.city}市{without_place}"
        if made["full_width"] and rng.random() < 0.5:
            # Or the name itself with full-width spaces and brackets.
            made["full_width"] = f"{company.place}\u3000{without_place}（{company.form}）"
        queries += [(kind, q, company.subject_id) for kind, q in made.items() if q]
    return registry, queries


# --- loading and asking ----------------------------------------------------------------------------


def load_registry(url: str, registry: list[Company]) -> None:
    """Subjects, one public black-list record each, and their index rows, through SQLAlchemy."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.kit.identifiers import complete_uscc
    from app.records.models import Record, Subject
    from app.records.search_index import index_names

    now = datetime.now(UTC)
    today = date.today()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            subjects, records = [], []
            for n, company in enumerate(registry):
                identifier = complete_uscc(f"91{370000 + n % 9000:06d}{n:08d}"[:16])
                subjects.append(
                    {
                        "id": company.subject_id,
                        "identifier": identifier,
                        "identifier_type": "uscc",
                        "kind": "legal_person",
                        "name": company.name,
                        "birth_date": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                decided = today - timedelta(days=30 + n % 200)
                records.append(
                    {
                        "id": uuid.uuid4(),
                        "agency_code": AGENCY,
                        "external_id": f"quality-{n}",
                        "domain_code": DOMAIN,
                        "list_type": "black",
                        "severity": "serious",
                        "subject_id": company.subject_id,
                        "subject_name": company.name,
                        "conduct": "为电信网络诈骗提供支付结算帮助",
                        "decision_no": f"公刑罚字〔2026〕{n}号",
                        "decision_date": decided,
                        "legal_basis": "《中华人民共和国反电信网络诈骗法》第三十一条",
                        "publicity_start": decided,
                        "publicity_end": decided + timedelta(days=3 * 365),
                        "visibility": "public",
                        "status": "active",
                        "version": 1,
                        "under_objection": False,
                        "late_disclosure": False,
                        "received_at": now,
                        "updated_at": now,
                        "content_hash": "0" * 64,
                    }
                )
            session.execute(insert(Subject), subjects)
            session.execute(insert(Record), records)
            index_names(session, [(c.subject_id, c.name) for c in registry], new_subjects=True)
            session.commit()
    finally:
        engine.dispose()


def evaluate(url: str, queries: list[tuple[str, str, uuid.UUID]]) -> dict[str, Any]:
    """Each query asked as the endpoint asks it (limit 20: what the page lists)."""
    from app.db import make_engine
    from app.public.search import MAX_LIMIT, search

    today = date.today()
    by_kind: dict[str, list[int | None]] = defaultdict(list)  # rank of the labelled company, or None
    misses: list[dict[str, str]] = []
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            for kind, query, meant in queries:
                answer = search(connection, query, MAX_LIMIT, today)
                connection.rollback()
                refs = [item["ref"] for item in answer["items"]]
                rank = refs.index(meant) + 1 if meant in refs else None
                by_kind[kind].append(rank)
                if rank is None:
                    first = answer["items"][0]["name"] if answer["items"] else "(nothing: 未查询到)"
                    misses.append({"kind": kind, "query": query, "found_first": first})
    finally:
        engine.dispose()

    def recall(ranks: list[int | None], k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= k) / len(ranks), 3)

    every = [rank for ranks in by_kind.values() for rank in ranks]
    return {
        "queries": len(every),
        "by_kind": {
            kind: {
                "queries": len(by_kind[kind]),
                "recall_at_1": recall(by_kind[kind], 1),
                "recall_at_5": recall(by_kind[kind], 5),
                "listed_as_clean": sum(1 for r in by_kind[kind] if r is None),
            }
            for kind in KINDS
            if by_kind.get(kind)
        },
        "recall_at_1": recall(every, 1),
        "recall_at_5": recall(every, 5),
        "listed_as_clean_misses": len(misses),
        "misses": misses[:50],
    }


def quality(database: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from scripts.benchmarks.ingest import prepare_schema

    registry, queries = build(args.companies, args.distractors)
    log(f"{database}: {len(registry):,} companies, {len(queries):,} labelled queries")
    if database == "sqlite":
        url = f"sqlite:///{workdir / 'quality.db'}"
        prepare_schema(url)
        load_registry(url, registry)
        return evaluate(url, queries)
    with harness.postgres_database(args.postgres_url, f"bench_quality_{os.getpid()}") as url:
        prepare_schema(url)
        load_registry(url, registry)
        return evaluate(url, queries)


# --- latency at a million subjects -----------------------------------------------------------------


def latency_queries(population: Any, count: int, seed: int = 11) -> list[tuple[str, str]]:
    """(kind, query) over scripts/bench public's population: what people type."""
    from pypinyin import lazy_pinyin

    from scripts.benchmarks.public import CITIES

    cities = sorted(CITIES, key=len, reverse=True)
    rng = random.Random(seed)
    kinds = ["two_char", "homophone", "initials", "substring", "suffix_variant", "pinyin", "person"]
    queries: list[tuple[str, str]] = []
    while len(queries) < count:
        kind = kinds[len(queries) % len(kinds)]
        name, core, pinyin, _ = rng.choice(population.companies)
        city = next(c for c in cities if core.startswith(c))
        trade_and_industry = core[len(city) :]
        if kind == "two_char":
            query = trade_and_industry[:2]
        elif kind == "homophone":
            position = rng.randrange(len(trade_and_industry))
            other = homophone_of(trade_and_industry[position], rng)
            if other is None:
                continue
            query = trade_and_industry[:position] + other + trade_and_industry[position + 1 :]
        elif kind == "initials":
            query = _initials(trade_and_industry)
        elif kind == "substring":
            query = trade_and_industry
        elif kind == "suffix_variant":
            query = core + ("有限责任公司" if name.endswith("有限公司") else "有限公司")
        elif kind == "pinyin":
            query = pinyin
        else:
            person = rng.choice(population.persons)
            query = person if rng.random() < 0.5 else "".join(lazy_pinyin(person))
        queries.append((kind, query))
    return queries


def latency(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from urllib.parse import quote

    from scripts.benchmarks import public
    from scripts.benchmarks.ingest import prepare_schema

    log(f"generating {args.latency_subjects:,} subjects (scripts/bench public's data set)")
    started = time.perf_counter()
    population = public.Population(args.latency_subjects)
    log(f"generated in {time.perf_counter() - started:.0f}s")
    with harness.postgres_database(args.postgres_url, f"bench_search_{os.getpid()}") as url:
        prepare_schema(url)
        loaded = public.load(url, population)
        log(f"loaded and indexed in {loaded:.0f}s")
        queries = latency_queries(population, args.searches + 60)
        paths = [f"/v1/public/search?q={quote(q)}&limit=10" for _, q in queries]
        settings = {"REGISTRY_PUBLIC_RATE_LIMIT": "1000000000", "REGISTRY_SWEEP_INTERVAL_SECONDS": "0"}
        found: dict[str, list[int]] = defaultdict(list)
        kinds = {path: kind for path, (kind, _) in zip(paths, queries, strict=True)}

        def check(path: str, answer: Any) -> None:
            found[kinds[path]].append(1 if answer.json()["items"] else 0)

        with harness.RegistryServer(url, workdir / "server", extra_env=settings) as server:
            public.time_requests(server.base_url, paths[:60])  # warm-up: pool, statements, page cache
            assert server.process is not None
            backends = _backends(url)
            server_before, backends_before = _cpu_seconds([server.process.pid]), _cpu_seconds(backends)
            timings = public.time_requests(server.base_url, paths[60:], check)
            server_ms = (_cpu_seconds([server.process.pid]) - server_before) * 1000 / len(timings)
            backends_ms = (_cpu_seconds(backends) - backends_before) * 1000 / len(timings)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for path, ms in zip(paths[60:], timings, strict=True):
        by_kind[kinds[path]].append(ms)
    pct = public.percentile
    return {
        "subjects": args.latency_subjects,
        "requests": len(timings),
        "p50_ms": round(pct(timings, 0.5), 1),
        "p95_ms": round(pct(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "by_kind_p50_p95_ms": {
            k: [round(pct(v, 0.5), 1), round(pct(v, 0.95), 1)] for k, v in by_kind.items()
        },
        "answered_with_results": {k: round(sum(v) / len(v), 2) for k, v in found.items()},
        "cpu_ms_per_search": {"server": round(server_ms, 2), "postgres": round(backends_ms, 2)},
        "load_average": os.getloadavg(),
    }


def _backends(url: str) -> list[int]:
    """The PostgreSQL backends serving this database (the server's pooled connections)."""
    import psycopg

    with psycopg.connect(harness.libpq_url(url), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes used so far (/proc/PID/stat), including their reaped
    children's. A search's CPU time, unlike its wall-clock time, does not grow with other people's
    load on a shared machine, only with the work it does."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


# --- the run ---------------------------------------------------------------------------------------


def _print_quality(database: str, result: dict[str, Any]) -> None:
    rows = [
        [
            kind,
            str(r["queries"]),
            f"{r['recall_at_1']:.3f}",
            f"{r['recall_at_5']:.3f}",
            str(r["listed_as_clean"]),
        ]
        for kind, r in result["by_kind"].items()
    ]
    rows.append(
        [
            "overall",
            str(result["queries"]),
            f"{result['recall_at_1']:.3f}",
            f"{result['recall_at_5']:.3f}",
            str(result["listed_as_clean_misses"]),
        ]
    )
    print(f"\nsearch quality on {database}")
    print(harness.table(["kind", "queries", "recall@1", "recall@5", "listed-as-clean misses"], rows))
    for miss in result["misses"][:15]:
        print(f"  miss ({miss['kind']}): {miss['query']!r} -> first {miss['found_first']}")


def run(args: argparse.Namespace) -> int:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, Any] = {"quality": {}}
    with harness.sigterm_unwinds(), harness.temp_dir("bench-search-") as workdir:
        try:
            if "postgres" in databases or args.latency_subjects:
                harness.ensure_postgres(args.postgres_url)
            for database in databases:
                results["quality"][database] = quality(database, args, workdir)
                _print_quality(database, results["quality"][database])
            if args.latency_subjects and args.db != "sqlite":
                results["latency"] = latency(args, workdir)
        except BenchFailure as exc:
            print(f"scripts/bench search-quality: FAILED: {exc}", flush=True)
            return 1
    print()
    met = True
    for database, result in results["quality"].items():
        ok = result["recall_at_5"] >= TARGET_RECALL_AT_5 and result["listed_as_clean_misses"] == 0
        met = met and ok
        print(
            f"target ({database}): recall@5 >= {TARGET_RECALL_AT_5} with no listed-as-clean miss: "
            f"{'met' if ok else 'NOT met'} (recall@5 {result['recall_at_5']:.3f}, "
            f"{result['listed_as_clean_misses']} misses)"
        )
    if "latency" in results:
        figures = results["latency"]
        print(
            harness.table(
                ["kind", "p50 ms", "p95 ms"],
                [[k, str(v[0]), str(v[1])] for k, v in figures["by_kind_p50_p95_ms"].items()]
                + [["all", str(figures["p50_ms"]), str(figures["p95_ms"])]],
            )
        )
        cpu = figures["cpu_ms_per_search"]
        print(f"CPU per search: server {cpu['server']} ms, its PostgreSQL backends {cpu['postgres']} ms")
        fast = figures["p95_ms"] < TARGET_P95_MS
        print(
            f"target: name search p95 < {TARGET_P95_MS:.0f} ms at {figures['subjects']:,} subjects: "
            f"{'met' if fast else 'NOT met'} ({figures['p95_ms']} ms; load average "
            f"{figures['load_average'][0]:.1f} on {os.cpu_count()} cores)"
        )
        results["latency"]["target_met"] = fast
    path = harness.write_results(
        "search-quality",
        {
            "suite": "search-quality",
            "machine": harness.machine(),
            "params": {k: v for k, v in vars(args).items() if k != "postgres_url"},
            "results": results,
        },
    )
    print(f"figures written to {path.relative_to(harness.ROOT)}")
    return 0 if met else 1
