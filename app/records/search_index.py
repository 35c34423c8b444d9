"""Keeping the public search index (subject_search) in step with subjects and their names.

Ingestion calls `index_names` in its own transaction for every new subject and every new name, so
a subject is findable the moment its first record is stored. `reindex` rebuilds the whole index
(after a change to the normalization, or for subjects stored before the index existed).

On SQLite the migration adds an FTS5 trigram table fed by triggers on subject_search; on
PostgreSQL pg_trgm GIN indexes sit on the table itself. Writers only ever touch subject_search.

A resident identity number written into a name is indexed masked, as the public sees it: a substring
or prefix search over its hidden digits would otherwise confirm a guessed number one request at a
time (API.md, Second release). Rows indexed before that masking need `registry search reindex`.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import bulk_insert, column_in
from app.kit.masking import mask_resident_ids
from app.kit.names import fold, name_keys
from app.records.models import Record, Subject, SubjectSearch


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
