"""The one-stop search (一站式查询): an exact identifier, or a name by substring, typo, or pinyin.

The database gathers a bounded set of candidates through its index (pg_trgm on PostgreSQL, FTS5
trigram on SQLite); Python ranks them the same way on both. Only subjects with a record in public
force are listed, at most MAX_LIMIT of them, and a query needs two characters: nobody can page
through the registry.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection

from app.errors import ValidationFailed
from app.kit.names import core, fold, is_latin_query, similarity, trigrams
from app.kit.text import printable
from app.public.view import mask_identifier, public_counts, scrub
from app.records.models import Subject, SubjectSearch

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
    name: str
    core: str
    pinyin: str
    initials: str


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _columns() -> Any:
    return (
        SubjectSearch.subject_id,
        SubjectSearch.name,
        SubjectSearch.core,
        SubjectSearch.pinyin,
        SubjectSearch.initials,
    )


def _rows(connection: Connection, query: Any) -> list[Candidate]:
    return [Candidate(*row) for row in connection.execute(query)]


def _prefix_tier(connection: Connection, stem: str, latin: str | None) -> list[Candidate]:
    """Exact names and prefixes, of the name or its pinyin or initials (btree, text_pattern_ops)."""
    found = _rows(
        connection,
        select(*_columns())
        .where(SubjectSearch.core.like(_escape_like(stem) + "%", escape="\\"))
        .order_by(func.length(SubjectSearch.core))
        .limit(CANDIDATES),
    )
    if latin:
        prefix = _escape_like(latin) + "%"
        found += _rows(
            connection,
            select(*_columns())
            .where(
                or_(
                    SubjectSearch.pinyin.like(prefix, escape="\\"),
                    SubjectSearch.initials.like(prefix, escape="\\"),
                )
            )
            .order_by(func.length(SubjectSearch.pinyin))
            .limit(CANDIDATES),
        )
    return found


def _substring_tier(connection: Connection, stem: str, latin: str | None) -> list[Candidate]:
    """The query anywhere inside a name or its pinyin: three characters or more (trigram indexes)."""
    found: list[Candidate] = []
    postgres = connection.dialect.name == "postgresql"
    for column, value in ((SubjectSearch.core, stem), (SubjectSearch.pinyin, latin)):
        if not value or len(value) < 3:
            continue
        if postgres:  # GIN gin_trgm_ops
            pattern = "%" + _escape_like(value) + "%"
            query = select(*_columns()).where(column.like(pattern, escape="\\"))
        else:
            # The FTS5 trigram table answers LIKE through its index (not with ESCAPE: folded names and
            # queries hold no % or _ to escape).
            query = select(*_columns()).where(
                text(
                    "subject_search.rowid IN "
                    f"(SELECT rowid FROM subject_search_fts WHERE {column.key} LIKE :p)"
                ).bindparams(p=f"%{value}%")
            )
        found += _rows(connection, query.order_by(func.length(column)).limit(CANDIDATES))
    return found


def _fts_phrase_query(column: str, value: str) -> str | None:
    """An FTS5 query matching any trigram of `value` in `column` (the trigram tokenizer's own units)."""
    grams = sorted({gram for gram in trigrams(value) if " " not in gram})
    if not grams:
        return None
    return f"{column} : (" + " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams) + ")"


def _fuzzy_tier(connection: Connection, stem: str, latin: str | None) -> list[Candidate]:
    """Names sharing enough trigrams with the query: small typos (pg_trgm `%`; FTS5 OR of trigrams)."""
    found: list[Candidate] = []
    for column, value in (("core", stem), ("pinyin", latin)):
        if not value or len(value) < 3:
            continue
        if connection.dialect.name == "postgresql":
            indexed = getattr(SubjectSearch, column)
            # A strict threshold first: for longer names it leaves far fewer rows to recheck (rows
            # sharing only a city and a trade word drop out); short names need the looser one.
            for threshold in STRICT_THRESHOLDS:
                connection.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}"))
                rows = _rows(
                    connection,
                    select(*_columns())
                    .where(indexed.op("%")(value))  # pg_trgm: similarity above the threshold
                    .order_by(func.similarity(indexed, value).desc())
                    .limit(CANDIDATES),
                )
                if rows:
                    found += rows
                    break
            continue
        match = _fts_phrase_query(column, value)
        if match is None:
            continue
        # bm25 puts the rows sharing the most (and rarest) trigrams with the query first.
        matched = connection.execute(
            text(
                "SELECT s.subject_id, s.name, s.core, s.pinyin, s.initials FROM subject_search_fts f "
                "JOIN subject_search s ON s.rowid = f.rowid "
                "WHERE subject_search_fts MATCH :match ORDER BY f.rank LIMIT :limit"
            ),
            {"match": match, "limit": CANDIDATES * 4},
        )
        found += [Candidate(uuid.UUID(str(row[0])), *row[1:]) for row in matched]
    return found


def candidates(connection: Connection, stem: str, latin: str | None) -> list[Candidate]:
    """Cheapest first: a query that matches a name exactly, by prefix or inside it is not a typo, and
    the costly similarity search (which reads the posting lists of every trigram) is skipped."""
    found = _prefix_tier(connection, stem, latin)
    # Pinyin inside a longer pinyin only when it begins no name: its trigrams ("ing", "ang") are
    # everywhere, and a name whose pinyin starts with the query already ranks above one containing it.
    found += _substring_tier(connection, stem, None if found else latin)
    return found or _fuzzy_tier(connection, stem, latin)


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


def _identifier_hit(connection: Connection, q: str) -> uuid.UUID | None:
    identifier = "".join(q.split()).upper()
    if len(identifier) < 8:
        return None
    return connection.execute(select(Subject.id).where(Subject.identifier == identifier)).scalar()


def search(connection: Connection, q: str, limit: int, today: date) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    q = q.strip()
    try:
        printable(q)
    except ValueError as exc:
        raise ValidationFailed.one("q", str(exc)) from None
    scores: dict[uuid.UUID, tuple[float, str]] = {}
    by_identifier = _identifier_hit(connection, q) if q else None
    if by_identifier is not None:
        scores[by_identifier] = (1000.0, "")
    else:
        folded = fold(q)
        stem = core(folded) or folded
        if len(stem) < MIN_QUERY:
            raise ValidationFailed.one(
                "q", f"give at least {MIN_QUERY} characters of a name, or a full identifier"
            )
        latin = stem if is_latin_query(stem) else None
        for candidate in candidates(connection, stem, latin):
            value = score(candidate, stem, latin)
            if value <= 0:
                continue
            previous = scores.get(candidate.subject_id)
            if previous is None or value > previous[0]:
                scores[candidate.subject_id] = (value, candidate.name)
    ranked = sorted(scores.items(), key=lambda item: -item[1][0])[: CANDIDATES * 2]
    counts = public_counts(connection, [subject_id for subject_id, _ in ranked], today)
    visible = [(subject_id, value) for subject_id, value in ranked if subject_id in counts]
    subjects = {
        row.id: row
        for row in connection.execute(
            select(Subject.id, Subject.name, Subject.kind, Subject.identifier_type, Subject.identifier).where(
                Subject.id.in_([subject_id for subject_id, _ in visible[:limit]])
            )
        )
    }
    items = []
    for subject_id, (value, matched) in visible[:limit]:
        row = subjects[subject_id]
        items.append(
            {
                "name": scrub(row.name),
                "kind": row.kind,
                "identifier": mask_identifier(row.kind, row.identifier_type, row.identifier),
                **counts[subject_id],
                "ref": subject_id,
                "matched_name": scrub(matched) if matched and matched != row.name else None,
                "score": round(value, 2),
            }
        )
    # Ties: the shorter (more specific) name first, then by name, so that answers are stable.
    items.sort(key=lambda item: (-item["score"], len(item["name"]), item["name"]))
    return {"items": items, "total": min(len(visible), CANDIDATES), "limit": limit}
