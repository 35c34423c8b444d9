"""The one-stop search (一站式查询): an organisation's exact identifier, or a name by substring, typo,
or pinyin.

The database gathers a bounded set of candidates through its index (pg_trgm on PostgreSQL, FTS5
trigram on SQLite), each limited to subjects with a record in public force; Python ranks them the
same way on both. A name matches only when a record in public force carries it (an agency's shared
or restricted push under another name is not searchable, nor shown), at most MAX_LIMIT subjects are
listed, and a query needs two characters: nobody can page through the registry. A resident identity
number finds nothing: persons are found by name, and their numbers are never confirmed (API.md,
Second release).
"""

import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Date, String, bindparam, column, func, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection

from app.errors import ValidationFailed
from app.kit.masking import is_resident_id, mask_resident_ids
from app.kit.names import core, fold, is_latin_query, similarity, trigrams
from app.kit.text import printable
from app.public.view import public_faces, scrub
from app.records import repository
from app.records.models import SubjectSearch
from app.records.search_index import index_key

MAX_LIMIT = 20
# Candidates fetched per way of matching; the answer's `total` never exceeds this either.
CANDIDATES = 50
# Index rows looked at per candidate kept: the best-ranked rows are checked for a record in public force.
WINDOW = 4
MIN_QUERY = 2
# pg_trgm's default similarity threshold: one wrong character in a 4-6 character name passes.
MIN_SIMILARITY = 0.3
STRICT_THRESHOLDS = (0.5, MIN_SIMILARITY)


@dataclass(frozen=True)
class Candidate:
    subject_id: uuid.UUID
    folded: str
    core: str
    pinyin: str
    initials: str


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _columns() -> Any:
    return (
        SubjectSearch.subject_id,
        SubjectSearch.folded,
        SubjectSearch.core,
        SubjectSearch.pinyin,
        SubjectSearch.initials,
    )


def _window(where: Any, rank: Any, limit: int = CANDIDATES, source: Any = None) -> Any:
    """The first `limit` index rows matching `where`, lowest `rank` first, whose subject has a record
    in public force; parameters :today and the tier's own.

    That test probes records by subject and status (ix_records_subject_status), some 15 µs a row on
    the test machine: applied to every match of a short prefix ("wang" matches 4,000 of a million
    names) it cost 80 ms, so it runs on the first WINDOW × `limit` rows in rank order only. Subjects
    with nothing in public force (exited records stay in the index for ever) then take no candidate's
    place unless they outnumber the public ones three to one among the best-ranked. Whether the name
    that matched is one those records carry is checked on the few candidates left (search()).
    """
    ranked = rank.label("rank")
    inner = select(*_columns(), ranked).where(where)
    if source is not None:
        inner = inner.select_from(source)
    window = inner.order_by(ranked).limit(limit * WINDOW).subquery()
    today = bindparam("today", type_=Date())
    return (
        select(window.c.subject_id, window.c.folded, window.c.core, window.c.pinyin, window.c.initials)
        .where(repository.has_public_record(window.c.subject_id, today))
        .order_by(window.c.rank)
        .limit(limit)
    )


_FTS = table("subject_search_fts", column("rowid"), column("rank"))
_PATTERN = bindparam("pattern", type_=String())
_VALUE = bindparam("value", type_=String())


@cache
def _statement(tier: str, dialect: str) -> Any:
    """Each way of matching as one statement, built once: building one costs about a millisecond,
    more than most searches spend in the database."""
    if tier == "prefix":  # btree, text_pattern_ops
        return _window(SubjectSearch.core.like(_PATTERN, escape="\\"), func.length(SubjectSearch.core))
    if tier == "prefix_latin":
        return _window(
            or_(
                SubjectSearch.pinyin.like(_PATTERN, escape="\\"),
                SubjectSearch.initials.like(_PATTERN, escape="\\"),
            ),
            func.length(SubjectSearch.pinyin),
        )
    name = tier.split(":")[1]
    indexed = getattr(SubjectSearch, name)
    if tier.startswith("substring:"):
        if dialect == "postgresql":  # GIN gin_trgm_ops
            return _window(indexed.like(_PATTERN, escape="\\"), func.length(indexed))
        # The FTS5 trigram table answers LIKE through its index (not with ESCAPE: folded names and
        # queries hold no % or _ to escape).
        rowids = text(
            f"subject_search.rowid IN (SELECT rowid FROM subject_search_fts WHERE {name} LIKE :pattern)"
        )
        return _window(rowids, func.length(indexed))
    if dialect == "postgresql":  # pg_trgm: similarity above the threshold, most similar first
        return _window(indexed.op("%")(_VALUE), -func.similarity(indexed, _VALUE))
    # FTS5: bm25 puts the rows sharing the most (and rarest) trigrams with the query first.
    return _window(
        text("subject_search_fts MATCH :value"),
        _FTS.c.rank,
        limit=CANDIDATES * 4,
        source=SubjectSearch.__table__.join(_FTS, literal_column("subject_search.rowid") == _FTS.c.rowid),
    )


def _top(connection: Connection, tier: str, today: date, **params: str) -> list[Candidate]:
    statement = _statement(tier, connection.dialect.name)
    return [Candidate(*row) for row in connection.execute(statement, params | {"today": today})]


def _prefix_tier(connection: Connection, today: date, stem: str, latin: str | None) -> list[Candidate]:
    """Exact names and prefixes, of the name or its pinyin or initials."""
    found = _top(connection, "prefix", today, pattern=_escape_like(stem) + "%")
    if latin:
        found += _top(connection, "prefix_latin", today, pattern=_escape_like(latin) + "%")
    return found


def _substring_tier(connection: Connection, today: date, stem: str, latin: str | None) -> list[Candidate]:
    """The query anywhere inside a name or its pinyin: three characters or more (trigram indexes)."""
    found: list[Candidate] = []
    for name, value in (("core", stem), ("pinyin", latin)):
        if value and len(value) >= 3:
            escaped = _escape_like(value) if connection.dialect.name == "postgresql" else value
            found += _top(connection, f"substring:{name}", today, pattern=f"%{escaped}%")
    return found


def _fts_phrase_query(column_name: str, value: str) -> str | None:
    """An FTS5 query matching any trigram of `value` in the column (the trigram tokenizer's own units)."""
    grams = sorted({gram for gram in trigrams(value) if " " not in gram})
    if not grams:
        return None
    return f"{column_name} : (" + " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams) + ")"


def _fuzzy_tier(connection: Connection, today: date, stem: str, latin: str | None) -> list[Candidate]:
    """Names sharing enough trigrams with the query: small typos (pg_trgm `%`; FTS5 OR of trigrams)."""
    found: list[Candidate] = []
    for name, value in (("core", stem), ("pinyin", latin)):
        if not value or len(value) < 3:
            continue
        if connection.dialect.name == "postgresql":
            # A strict threshold first: for longer names it leaves far fewer rows to recheck (rows
            # sharing only a city and a trade word drop out); short names need the looser one.
            for threshold in STRICT_THRESHOLDS:
                connection.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}"))
                rows = _top(connection, f"fuzzy:{name}", today, value=value)
                if rows:
                    found += rows
                    break
            continue
        match = _fts_phrase_query(name, value)
        if match is not None:
            found += _top(connection, f"fuzzy:{name}", today, value=match)
    return found


def candidates(connection: Connection, stem: str, latin: str | None, today: date) -> list[Candidate]:
    """Cheapest first: a query that matches a name exactly, by prefix or inside it is not a typo, and
    the costly similarity search (which reads the posting lists of every trigram) is skipped."""
    found = _prefix_tier(connection, today, stem, latin)
    # Pinyin inside a longer pinyin only when it begins no name: its trigrams ("ing", "ang") are
    # everywhere, and a name whose pinyin starts with the query already ranks above one containing it.
    found += _substring_tier(connection, today, stem, None if found else latin)
    return found or _fuzzy_tier(connection, today, stem, latin)


def score(candidate: Candidate, stem: str, latin: str | None) -> float:
    """Best first: the exact name, a prefix, a substring, pinyin, then trigram similarity (typos)."""
    name = candidate.core
    best = 0.0
    if name == stem:
        best = 100.0
    elif name.startswith(stem):
        best = 90.0 - min(len(name) - len(stem), 20) * 0.1
    elif stem in name:
        best = 80.0 - min(len(name) - len(stem), 20) * 0.1
    sim = similarity(name, stem)
    if sim >= MIN_SIMILARITY:
        best = max(best, 40.0 + 30.0 * sim)
    if latin and candidate.pinyin:
        if candidate.pinyin == latin:
            best = max(best, 97.0)
        elif candidate.initials == latin:
            best = max(best, 95.0)
        elif candidate.pinyin.startswith(latin):
            best = max(best, 85.0)
        elif candidate.initials.startswith(latin):
            best = max(best, 75.0)
        elif latin in candidate.pinyin:
            best = max(best, 70.0)
        else:
            pinyin_sim = similarity(candidate.pinyin, latin)
            if pinyin_sim >= MIN_SIMILARITY:
                best = max(best, 35.0 + 30.0 * pinyin_sim)
    return best


def _identifier_hit(connection: Connection, identifier: str) -> uuid.UUID | None:
    """An organisation by its full identifier; never a person (a hit would confirm a guessed number)."""
    if len(identifier) < 8:
        return None
    return repository.organisation_by_identifier(connection, identifier)


def search(connection: Connection, q: str, limit: int, today: date) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    q = q.strip()
    try:
        printable(q)
    except ValueError as exc:
        raise ValidationFailed.one("q", str(exc)) from None
    identifier = "".join(q.split()).upper()
    if is_resident_id(identifier):
        # The same empty answer whether that person is listed or not (API.md, Second release).
        return {"items": [], "total": 0, "limit": limit}
    # (score, subject, the index key of the name that matched; None for an identifier)
    scored: list[tuple[float, uuid.UUID, str | None]] = []
    by_identifier = _identifier_hit(connection, identifier)
    if by_identifier is not None:
        scored.append((1000.0, by_identifier, None))
    else:
        # A number inside a name is matched as the index holds it: masked (app.records.search_index).
        folded = fold(mask_resident_ids(q))
        stem = core(folded) or folded
        if len(stem) < MIN_QUERY:
            raise ValidationFailed.one(
                "q", f"give at least {MIN_QUERY} characters of a name, or an organisation's full identifier"
            )
        latin = stem if is_latin_query(stem) else None
        for candidate in candidates(connection, stem, latin, today):
            value = score(candidate, stem, latin)
            if value > 0:
                scored.append((value, candidate.subject_id, candidate.folded))
        scored.sort(key=lambda entry: -entry[0])
    subject_ids = list(dict.fromkeys(subject_id for _, subject_id, _ in scored))[: CANDIDATES * 2]
    faces = public_faces(connection, subject_ids, today)
    # Each subject's best match among the names its records in public force carry: a name that only a
    # shared, restricted or exited record carries matches nothing.
    chosen: dict[uuid.UUID, tuple[float, str | None]] = {}
    for value, subject_id, key in scored:
        face = faces.get(subject_id)
        if face is None or subject_id in chosen:
            continue
        if key is None:
            chosen[subject_id] = (value, None)
            continue
        spelling = next((name for name in face.names if index_key(name) == key), None)
        if spelling is not None:
            chosen[subject_id] = (value, spelling)
    items: list[dict[str, Any]] = []
    for subject_id, (value, matched) in list(chosen.items())[:limit]:
        face = faces[subject_id]
        name = face.names[0]
        items.append(
            {
                "name": scrub(name),
                "kind": face.kind,
                "identifier": face.identifier,
                "black_count": face.black_count,
                "red_count": face.red_count,
                "ref": subject_id,
                "matched_name": (
                    scrub(matched) if matched and index_key(matched) != index_key(name) else None
                ),
                "score": round(value, 2),
            }
        )
    # Ties: the shorter (more specific) name first, then by name, so that answers are stable.
    items.sort(key=lambda item: (-item["score"], len(item["name"]), item["name"]))
    return {"items": items, "total": min(len(chosen), CANDIDATES), "limit": limit}
