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
from typing import Any

from sqlalchemy import column, exists, func, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from app.errors import ValidationFailed
from app.kit.masking import is_resident_id, mask_resident_ids
from app.kit.names import core, fold, is_latin_query, similarity, trigrams
from app.public.view import not_personal, public_clause, public_faces, scrub
from app.records.models import Record, Subject, SubjectSearch
from app.records.schemas import printable
from app.records.search_index import index_key

MAX_LIMIT = 20
# Candidates fetched per way of matching; the answer's `total` never exceeds this either.
CANDIDATES = 50
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


def _in_public_force(today: date) -> Any:
    """The index row's subject has a record in public force: a semi-join probing records by subject
    and status (ix_records_subject_status). Subjects without one take no candidate's place; whether
    the matched name is one such a record carries is checked on the few candidates left (search())."""
    return exists().where(Record.subject_id == SubjectSearch.subject_id, public_clause(today))


def _base(today: date) -> Select[Any]:
    return select(*_columns()).where(_in_public_force(today))


def _rows(connection: Connection, query: Any) -> list[Candidate]:
    return [Candidate(*row) for row in connection.execute(query)]


def _prefix_tier(connection: Connection, base: Select[Any], stem: str, latin: str | None) -> list[Candidate]:
    """Exact names and prefixes, of the name or its pinyin or initials (btree, text_pattern_ops)."""
    found = _rows(
        connection,
        base.where(SubjectSearch.core.like(_escape_like(stem) + "%", escape="\\"))
        .order_by(func.length(SubjectSearch.core))
        .limit(CANDIDATES),
    )
    if latin:
        prefix = _escape_like(latin) + "%"
        found += _rows(
            connection,
            base.where(
                or_(
                    SubjectSearch.pinyin.like(prefix, escape="\\"),
                    SubjectSearch.initials.like(prefix, escape="\\"),
                )
            )
            .order_by(func.length(SubjectSearch.pinyin))
            .limit(CANDIDATES),
        )
    return found


def _substring_tier(
    connection: Connection, base: Select[Any], stem: str, latin: str | None
) -> list[Candidate]:
    """The query anywhere inside a name or its pinyin: three characters or more (trigram indexes)."""
    found: list[Candidate] = []
    postgres = connection.dialect.name == "postgresql"
    for column_, value in ((SubjectSearch.core, stem), (SubjectSearch.pinyin, latin)):
        if not value or len(value) < 3:
            continue
        if postgres:  # GIN gin_trgm_ops
            pattern = "%" + _escape_like(value) + "%"
            query = base.where(column_.like(pattern, escape="\\"))
        else:
            # The FTS5 trigram table answers LIKE through its index (not with ESCAPE: folded names and
            # queries hold no % or _ to escape).
            query = base.where(
                text(
                    "subject_search.rowid IN "
                    f"(SELECT rowid FROM subject_search_fts WHERE {column_.key} LIKE :p)"
                ).bindparams(p=f"%{value}%")
            )
        found += _rows(connection, query.order_by(func.length(column_)).limit(CANDIDATES))
    return found


def _fts_phrase_query(column_: str, value: str) -> str | None:
    """An FTS5 query matching any trigram of `value` in `column_` (the trigram tokenizer's own units)."""
    grams = sorted({gram for gram in trigrams(value) if " " not in gram})
    if not grams:
        return None
    return f"{column_} : (" + " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams) + ")"


_FTS = table("subject_search_fts", column("rowid"), column("rank"))


def _fuzzy_tier(connection: Connection, base: Select[Any], stem: str, latin: str | None) -> list[Candidate]:
    """Names sharing enough trigrams with the query: small typos (pg_trgm `%`; FTS5 OR of trigrams)."""
    found: list[Candidate] = []
    for name, value in (("core", stem), ("pinyin", latin)):
        if not value or len(value) < 3:
            continue
        if connection.dialect.name == "postgresql":
            indexed = getattr(SubjectSearch, name)
            # A strict threshold first: for longer names it leaves far fewer rows to recheck (rows
            # sharing only a city and a trade word drop out); short names need the looser one.
            for threshold in STRICT_THRESHOLDS:
                connection.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}"))
                rows = _rows(
                    connection,
                    base.where(indexed.op("%")(value))  # pg_trgm: similarity above the threshold
                    .order_by(func.similarity(indexed, value).desc())
                    .limit(CANDIDATES),
                )
                if rows:
                    found += rows
                    break
            continue
        match = _fts_phrase_query(name, value)
        if match is None:
            continue
        # bm25 puts the rows sharing the most (and rarest) trigrams with the query first.
        found += _rows(
            connection,
            base.join_from(SubjectSearch, _FTS, literal_column("subject_search.rowid") == _FTS.c.rowid)
            .where(text("subject_search_fts MATCH :match").bindparams(match=match))
            .order_by(_FTS.c.rank)
            .limit(CANDIDATES * 4),
        )
    return found


def candidates(connection: Connection, stem: str, latin: str | None, today: date) -> list[Candidate]:
    """Cheapest first: a query that matches a name exactly, by prefix or inside it is not a typo, and
    the costly similarity search (which reads the posting lists of every trigram) is skipped."""
    base = _base(today)
    found = _prefix_tier(connection, base, stem, latin)
    # Pinyin inside a longer pinyin only when it begins no name: its trigrams ("ing", "ang") are
    # everywhere, and a name whose pinyin starts with the query already ranks above one containing it.
    found += _substring_tier(connection, base, stem, None if found else latin)
    return found or _fuzzy_tier(connection, base, stem, latin)


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
    return connection.execute(
        select(Subject.id).where(Subject.identifier == identifier, not_personal())
    ).scalar()


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
