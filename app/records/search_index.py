"""The public search index (subject_search): keeping it in step with subjects and their names, and
the ways of reading it.

Ingestion calls `index_names` in its own transaction for every new subject and every new name, so
a subject is findable the moment its first record is stored. `reindex` rebuilds the whole index
(after a change to the normalization, or for subjects stored before the index existed).

On SQLite the migrations add FTS5 tables fed by triggers on subject_search (trigram over core and
pinyin; words over grams); on PostgreSQL pg_trgm GIN indexes and a GIN index over the words of grams
sit on the table itself. Writers only ever touch subject_search.

A resident identity number written into a name is indexed masked, as the public sees it: a substring
or prefix search over its hidden digits would otherwise confirm a guessed number one request at a
time (API.md, Second release). Rows indexed before that masking need `registry search reindex`.

Reading (`candidates`): each way of matching is one indexed statement returning a bounded window of
index rows whose subject has a record in public force (app.records.repository.has_public_record);
app.public.search ranks them. Nothing here scans the table: prefixes use btrees (GLOB on SQLite,
whose LIKE cannot use a binary-collated index), substrings of three characters or more and typos the
trigram indexes, two-character names and homophones the grams words.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    Date,
    String,
    Text,
    bindparam,
    column,
    delete,
    func,
    literal_column,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.db import bulk_insert, column_in
from app.kit.masking import mask_resident_ids
from app.kit.names import (
    fold,
    han_pairs,
    is_latin_query,
    name_keys,
    spelled_as_pinyin,
    syllable_pairs,
    trade,
    trigrams,
)
from app.records import repository
from app.records.models import Record, Subject, SubjectSearch

# Candidates fetched per way of matching (the page lists 20).
CANDIDATES = 40
# Index rows looked at per candidate kept: the best-ranked rows are checked for a record in public force.
WINDOW = 4
# pg_trgm's default similarity threshold: one wrong character in a 4-6 character name passes.
MIN_SIMILARITY = 0.3
STRICT_THRESHOLDS = (0.5, MIN_SIMILARITY)


def index_key(name: str) -> str:
    """The key (subject_search.folded) under which a name is indexed."""
    return fold(mask_resident_ids(name))[:200]  # name_keys(...).folded, without the pinyin


def index_rows(pairs: Iterable[tuple[uuid.UUID, str]]) -> list[dict[str, Any]]:
    """subject_search rows for (subject id, name) pairs, one per distinct folded name."""
    rows: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for subject_id, name in pairs:
        name = mask_resident_ids(name)
        keys = name_keys(name)
        if not keys.folded or (subject_id, keys.folded) in rows:
            continue
        rows[(subject_id, keys.folded)] = {
            "subject_id": subject_id,
            "folded": keys.folded[:200],
            "name": name[:200],
            "core": keys.core[:200],
            "pinyin": keys.pinyin[:1000],
            "initials": keys.initials[:200],
            "trade": keys.trade[:200],
            "trade_initials": keys.trade_initials[:200],
            "grams": keys.grams,
        }
    return list(rows.values())


def index_names(session: Session, pairs: list[tuple[uuid.UUID, str]], *, new_subjects: bool = False) -> None:
    """Index these names in the session's transaction; names a subject already has are skipped.

    `new_subjects`: every subject is new, so nothing can be indexed yet (skips one query).
    """
    rows = index_rows(pairs)
    if not rows:
        return
    if not new_subjects:
        subject_ids = list({row["subject_id"] for row in rows})
        known = {
            (sid, folded)
            for sid, folded in session.execute(
                select(SubjectSearch.subject_id, SubjectSearch.folded).where(
                    column_in(session, SubjectSearch.subject_id, subject_ids)
                )
            )
        }
        rows = [row for row in rows if (row["subject_id"], row["folded"]) not in known]
    bulk_insert(session, SubjectSearch, rows)


def reindex(session: Session, chunk: int = 5000) -> int:
    """Rebuild the index from every subject's current and former names; returns the rows written."""
    session.execute(delete(SubjectSearch))
    written = 0
    last: uuid.UUID | None = None
    while True:
        query = select(Subject.id, Subject.name).order_by(Subject.id).limit(chunk)
        if last is not None:
            query = query.where(Subject.id > last)
        subjects = session.execute(query).all()
        if not subjects:
            return written
        last = subjects[-1].id
        ids = [row.id for row in subjects]
        pairs: list[tuple[uuid.UUID, str]] = [(row.id, row.name) for row in subjects]
        pairs += [
            (row.subject_id, row.subject_name)
            for row in session.execute(
                select(Record.subject_id, Record.subject_name)
                .distinct()
                .where(column_in(session, Record.subject_id, ids))
            )
        ]
        rows = index_rows(pairs)
        bulk_insert(session, SubjectSearch, rows)
        written += len(rows)


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An index row: one name of a subject with a record in public force (whether that record
    carries this very name is for the caller to check)."""

    subject_id: uuid.UUID
    folded: str
    core: str
    pinyin: str
    initials: str
    trade: str
    trade_initials: str


@dataclass(frozen=True)
class Wanted:
    """A query as the index is asked: `stem` the folded name without its legal form, `trade` that
    without its leading place, `latin` the stem when it is letters only (pinyin or initials), and the
    stem's Han character pairs and syllable pairs (app.kit.names.grams)."""

    stem: str
    trade: str
    latin: str | None
    han_pairs: tuple[str, ...]
    syllable_pairs: tuple[str, ...]
    is_han: bool
    # `latin` splits wholly into pinyin syllables: a name as spelled, not a typo of one
    spelled: bool = False


def wanted(stem: str) -> Wanted:
    """What the index is asked for a folded query without its legal form."""
    latin = stem if is_latin_query(stem) else None
    return Wanted(
        stem=stem,
        trade=trade(stem),
        latin=latin,
        han_pairs=tuple(han_pairs(stem)),
        syllable_pairs=tuple(syllable_pairs(stem)) if latin is None else (),
        is_han=bool(han_pairs(stem)),
        spelled=latin is not None and spelled_as_pinyin(latin),
    )


_COLUMNS = (
    SubjectSearch.subject_id,
    SubjectSearch.folded,
    SubjectSearch.core,
    SubjectSearch.pinyin,
    SubjectSearch.initials,
    SubjectSearch.trade,
    SubjectSearch.trade_initials,
)


# Whose names a reading considers: subjects with a record in public force (the public search), or
# with a record in force of any visibility, their own or an organisation's naming them (screening).
Scope = str
PUBLIC = "public"
LISTED = "listed"


def _window(where: Any, rank: Any, limit: int = CANDIDATES, source: Any = None, scope: Scope = PUBLIC) -> Any:
    """The first `limit` index rows matching `where`, lowest `rank` first, whose subject has a record
    in public force (`scope` PUBLIC; LISTED: any record in force reaching it); parameters :today and
    the tier's own.

    That test probes records by subject and status, too slow to apply to every match of a short
    prefix (docs/benchmarks.md), so it runs on the first WINDOW × `limit` rows in rank order only. Subjects
    with nothing in public force (exited records stay in the index for ever) then take no candidate's
    place unless they outnumber the public ones three to one among the best-ranked. Whether the name
    that matched is one those records carry is checked by the caller on the few candidates left.
    """
    ranked = rank.label("rank")
    inner = select(*_COLUMNS, ranked).where(where)
    if source is not None:
        inner = inner.select_from(source)
    window = inner.order_by(ranked).limit(limit * WINDOW).subquery()
    today = bindparam("today", type_=Date())
    kept = (
        repository.has_public_record(window.c.subject_id, today)
        if scope == PUBLIC
        else repository.has_record_in_force(window.c.subject_id, today)
    )
    return select(*(window.c[c.key] for c in _COLUMNS)).where(kept).order_by(window.c.rank).limit(limit)


_FTS = table("subject_search_fts", column("rowid"), column("rank"))
# The very expression the GIN index ix_subject_search_grams is built on (the planner matches it).
_GRAM_WORDS = func.string_to_array(SubjectSearch.grams, literal_column("' '"))
# Ways of matching asked together in one statement (UNION ALL of their windows): each round trip
# costs more than most of them spend in the database, and more still on a loaded machine.
TIERS = ("prefix", "trade", "prefix_latin", "pairs", "substring:core", "substring:pinyin", "homophone")


def _param(tier: str, name: str, type_: Any = None) -> Any:
    """A tier's own parameter (tiers asked in one statement each bind their own values)."""
    return bindparam(f"{tier.replace(':', '_')}_{name}", type_=type_ or String())


def _prefix(indexed: Any, tier: str, dialect: str) -> Any:
    """`indexed` begins with the tier's pattern. PostgreSQL: LIKE on a text_pattern_ops btree;
    SQLite: GLOB, which (unlike its LIKE) a binary-collated index serves."""
    if dialect == "postgresql":
        return indexed.like(_param(tier, "pattern"), escape="\\")
    return indexed.op("GLOB")(_param(tier, "pattern"))


def _grams_window(tier: str, dialect: str, scope: Scope) -> Any:
    """Rows holding every word of the tier's list among their grams."""
    if dialect == "postgresql":
        words = _param(tier, "words", ARRAY(Text()))
        return _window(_GRAM_WORDS.op("@>")(words), func.length(SubjectSearch.core), scope=scope)
    match = _param(tier, "match")
    fts = table("subject_search_fts_grams", column("rowid"), column("subject_search_fts_grams"))
    rowids = select(fts.c.rowid).where(fts.c.subject_search_fts_grams.op("MATCH")(match))
    return _window(
        literal_column("subject_search.rowid").in_(rowids), func.length(SubjectSearch.core), scope=scope
    )


@cache
def _statement(tier: str, dialect: str, scope: Scope = PUBLIC) -> Any:
    """Each way of matching as one statement, built once: building one costs about a millisecond,
    more than most searches spend in the database."""
    if tier == "prefix":
        return _window(
            _prefix(SubjectSearch.core, tier, dialect), func.length(SubjectSearch.core), scope=scope
        )
    if tier == "trade":  # the name without its place begins with the query's
        return _window(
            _prefix(SubjectSearch.trade, tier, dialect), func.length(SubjectSearch.trade), scope=scope
        )
    if tier == "prefix_latin":
        return _window(
            or_(
                _prefix(SubjectSearch.pinyin, tier, dialect),
                _prefix(SubjectSearch.initials, tier, dialect),
                _prefix(SubjectSearch.trade_initials, tier, dialect),
            ),
            func.length(SubjectSearch.pinyin),
            scope=scope,
        )
    if tier in ("pairs", "homophone"):
        return _grams_window(tier, dialect, scope)
    name = tier.split(":")[1]
    indexed = getattr(SubjectSearch, name)
    if tier.startswith("substring:"):
        pattern = _param(tier, "pattern")
        if dialect == "postgresql":  # GIN gin_trgm_ops
            return _window(indexed.like(pattern, escape="\\"), func.length(indexed), scope=scope)
        # The FTS5 trigram table answers LIKE through its index (not with ESCAPE: folded names and
        # queries hold no % or _ to escape).
        fts = table("subject_search_fts", column("rowid"), column(name))
        rowids = select(fts.c.rowid).where(fts.c[name].like(pattern))
        return _window(literal_column("subject_search.rowid").in_(rowids), func.length(indexed), scope=scope)
    value = _param(tier, "value")
    if dialect == "postgresql":  # pg_trgm: similarity above the threshold, most similar first
        return _window(indexed.op("%")(value), -func.similarity(indexed, value), scope=scope)
    # FTS5: bm25 puts the rows sharing the most (and rarest) trigrams with the query first.
    return _window(
        sql_text(f"subject_search_fts MATCH :{tier.replace(':', '_')}_value"),
        _FTS.c.rank,
        limit=CANDIDATES * 4,
        source=SubjectSearch.__table__.join(_FTS, literal_column("subject_search.rowid") == _FTS.c.rowid),
        scope=scope,
    )


@cache
def _together(tiers: tuple[str, ...], dialect: str, scope: Scope = PUBLIC) -> Any:
    """Several ways of matching in one statement: their windows, one after the other."""
    if len(tiers) == 1:
        return _statement(tiers[0], dialect, scope)
    windows = [_statement(tier, dialect, scope).subquery(tier.replace(":", "_")) for tier in tiers]
    return union_all(*(select(*window.c) for window in windows))


Asked = dict[str, dict[str, Any]]  # {tier: its parameters}


def prepared(
    connection: Connection, today: date, asked: Asked, scope: Scope = PUBLIC
) -> tuple[Any, dict[str, Any]]:
    """The statement asking every tier of `asked` ({tier: its parameters}) at once, and its parameters."""
    tiers = tuple(tier for tier in TIERS if tier in asked) + tuple(t for t in asked if t not in TIERS)
    params: dict[str, Any] = {"today": today}
    for tier, values in asked.items():
        params |= {f"{tier.replace(':', '_')}_{name}": value for name, value in values.items()}
    return _together(tiers, connection.dialect.name, scope), params


def _ask(
    connection: Connection, today: date, asked: dict[str, dict[str, Any]], scope: Scope = PUBLIC
) -> list[Candidate]:
    """Candidates of every tier asked, in one round trip."""
    if not asked:
        return []
    statement, params = prepared(connection, today, asked, scope)
    return [Candidate(*row) for row in connection.execute(statement, params)]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix_pattern(connection: Connection, value: str) -> str:
    if connection.dialect.name == "postgresql":
        return _escape_like(value) + "%"
    # GLOB's own wildcards, each taken literally inside brackets (folding removes most of them).
    return "".join(f"[{c}]" if c in "*?[" else c for c in value) + "*"


def _substring_pattern(connection: Connection, value: str) -> str:
    return f"%{_escape_like(value) if connection.dialect.name == 'postgresql' else value}%"


def _grams_params(connection: Connection, words: Iterable[str]) -> dict[str, Any]:
    words = list(dict.fromkeys(words))
    if connection.dialect.name == "postgresql":
        return {"words": words}
    # FTS5: rows holding every one of these words.
    return {"match": " AND ".join('"' + word.replace('"', '""') + '"' for word in words)}


def exact_tiers(connection: Connection, wanted: Wanted) -> dict[str, dict[str, Any]]:
    """Exact names and prefixes: of the name, of the name without its place, of its pinyin or
    initials (the initials of the name without its place too: "xdtx" for 枣庄市鑫达通讯器材); and the
    query anywhere inside a name: two Han characters through the grams' character pairs (a trigram
    index cannot serve a two-character substring), three characters or more through the trigram index."""
    asked: dict[str, dict[str, Any]] = {"prefix": {"pattern": _prefix_pattern(connection, wanted.stem)}}
    if len(wanted.trade) >= 2:
        asked["trade"] = {"pattern": _prefix_pattern(connection, wanted.trade)}
    if wanted.latin:
        asked["prefix_latin"] = {"pattern": _prefix_pattern(connection, wanted.latin)}
    if len(wanted.stem) == 2 and wanted.han_pairs:
        asked["pairs"] = _grams_params(connection, wanted.han_pairs)
    if len(wanted.stem) >= 3:
        asked["substring:core"] = {"pattern": _substring_pattern(connection, wanted.stem)}
    return asked


def _fts_phrase_query(column_name: str, value: str) -> str | None:
    """An FTS5 query matching any trigram of `value` in the column (the trigram tokenizer's own units)."""
    grams = sorted({gram for gram in trigrams(value) if " " not in gram})
    if not grams:
        return None
    return f"{column_name} : (" + " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams) + ")"


def _fuzzy_tier(connection: Connection, today: date, wanted: Wanted, scope: Scope) -> list[Candidate]:
    """Names sharing enough trigrams with the query: small typos (pg_trgm `%`; FTS5 OR of trigrams)."""
    found: list[Candidate] = []
    # Pinyin spelled right that begins or lies inside no name is a name nobody listed, not a typo:
    # looking for similar spellings would read the posting lists of trigrams such as "ang" and "ing",
    # found in most names' pinyin (hundreds of milliseconds at a million names) to offer other people.
    latin = None if wanted.spelled else wanted.latin
    for name, value in (("core", wanted.stem), ("pinyin", latin)):
        if not value or len(value) < 3:
            continue
        if connection.dialect.name == "postgresql":
            # A strict threshold first: for longer names it leaves far fewer rows to recheck (rows
            # sharing only a city and a trade word drop out); short names need the looser one.
            for threshold in STRICT_THRESHOLDS:
                connection.execute(sql_text(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}"))
                rows = _ask(connection, today, {f"fuzzy:{name}": {"value": value}}, scope)
                if rows:
                    found += rows
                    break
            continue
        match = _fts_phrase_query(name, value)
        if match is not None:
            found += _ask(connection, today, {f"fuzzy:{name}": {"value": match}}, scope)
    return found


def second_tiers(connection: Connection, wanted: Wanted, found: int, enough: int) -> Asked:
    """What to ask when the exact tiers found `found` subjects."""
    more: dict[str, dict[str, Any]] = {}
    if wanted.latin and len(wanted.latin) >= 3 and not found:
        # Pinyin inside a longer pinyin only when it begins no name: its trigrams ("ing", "ang") are
        # everywhere, and a name whose pinyin starts with the query already ranks above one containing it.
        more["substring:pinyin"] = {"pattern": _substring_pattern(connection, wanted.latin)}
    if wanted.is_han and wanted.syllable_pairs and found < enough:
        # What a pinyin input method offers for the same sounds (鑫达通迅 for 鑫达通讯): names holding
        # every syllable pair of the query; whether they follow each other is for the ranking.
        more["homophone"] = _grams_params(connection, wanted.syllable_pairs)
    return more


def is_exact(candidate: Candidate, wanted: Wanted) -> bool:
    """The name itself, with or without its place."""
    return candidate.core == wanted.stem or candidate.trade == wanted.trade


def candidates(
    connection: Connection,
    wanted: Wanted,
    today: date,
    enough: int,
    scope: Scope = PUBLIC,
    stop_on_exact: bool = True,
) -> list[Candidate]:
    """Cheapest first, each step one round trip. A query that matches a name exactly, by prefix or
    inside it is not a typo: homophones are looked for only while fewer than `enough` subjects were
    found, and the costly similarity search (which reads the posting lists of every trigram) only
    when nothing was. With `stop_on_exact` off, an exact match does not end the search (the caller
    found that only names the public may not see matched exactly)."""
    found = _ask(connection, today, exact_tiers(connection, wanted), scope)
    if stop_on_exact and any(is_exact(candidate, wanted) for candidate in found):
        return found  # what was typed exists
    subjects = len({candidate.subject_id for candidate in found})
    found += _ask(connection, today, second_tiers(connection, wanted, subjects, enough), scope)
    return found or _fuzzy_tier(connection, today, wanted, scope)


def names_of(connection: Connection, subject_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str, str]]:
    """(subject id, index key, name as written) of every name these subjects have carried."""
    if not subject_ids:
        return []
    rows = connection.execute(
        select(SubjectSearch.subject_id, SubjectSearch.folded, SubjectSearch.name).where(
            SubjectSearch.subject_id.in_(subject_ids)
        )
    )
    return [(row[0], row[1], row[2]) for row in rows]
