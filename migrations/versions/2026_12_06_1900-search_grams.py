"""Search finds what people type: the trade name without its place, its initials, and a word list of
character pairs and syllable pairs (two-character names anywhere in a name, homophones).

Adds subject_search.trade, .trade_initials and .grams with their indexes: btree prefixes on the first
two; on PostgreSQL a GIN index over the words of `grams`, on SQLite an FTS5 table over them kept in
step by triggers (as subject_search_fts is). Names are now folded from traditional to simplified
characters too, so the whole index is rebuilt from the subjects' and their records' names (on a large
registry this takes minutes: pinyin for every name). The downgrade drops the new columns and indexes;
rows keep their new folding until `registry search reindex` is run with the older code.

Revision ID: search_grams
Revises: related_parties
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "search_grams"
down_revision: str | None = "related_parties"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: an external-content FTS5 table over subject_search.grams. unicode61 keeps a run of Han
# characters as one word and `_` inside one (xin_da), so every space-separated word is one token.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE subject_search_fts_grams USING fts5("
    "grams, content='subject_search', content_rowid='rowid', tokenize=\"unicode61 tokenchars '_'\")",
    # The rows already there indexed first: the delete trigger tells FTS5 what each deleted row held,
    # and a row it never indexed would corrupt it.
    "INSERT INTO subject_search_fts_grams(subject_search_fts_grams) VALUES ('rebuild')",
    "CREATE TRIGGER subject_search_grams_ai AFTER INSERT ON subject_search BEGIN "
    "INSERT INTO subject_search_fts_grams(rowid, grams) VALUES (new.rowid, new.grams); END",
    "CREATE TRIGGER subject_search_grams_ad AFTER DELETE ON subject_search BEGIN "
    "INSERT INTO subject_search_fts_grams(subject_search_fts_grams, rowid, grams) "
    "VALUES ('delete', old.rowid, old.grams); END",
    "CREATE TRIGGER subject_search_grams_au AFTER UPDATE ON subject_search BEGIN "
    "INSERT INTO subject_search_fts_grams(subject_search_fts_grams, rowid, grams) "
    "VALUES ('delete', old.rowid, old.grams); "
    "INSERT INTO subject_search_fts_grams(rowid, grams) VALUES (new.rowid, new.grams); END",
]
GRAMS_GIN = "CREATE INDEX ix_subject_search_grams ON subject_search USING gin (string_to_array(grams, ' '))"
CHUNK = 5000


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Added in place (not by copying the table, as batch mode may on SQLite: the FTS5 tables index
    # subject_search by rowid, and its triggers would be lost with the copy).
    op.add_column("subject_search", sa.Column("trade", sa.String(200), server_default="", nullable=False))
    op.add_column(
        "subject_search", sa.Column("trade_initials", sa.String(200), server_default="", nullable=False)
    )
    op.add_column("subject_search", sa.Column("grams", sa.Text(), server_default="", nullable=False))
    for column in ("trade", "trade_initials"):
        op.create_index(
            f"ix_subject_search_{column}",
            "subject_search",
            [column],
            postgresql_ops={column: "text_pattern_ops"},
        )
    if postgres:
        op.execute(GRAMS_GIN)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)
    _rebuild()


def _rebuild() -> None:
    """Every subject's current name and the names its records carry, indexed anew (the tables are
    described here so that this step keeps working after later schema changes)."""
    from app.records.search_index import index_rows

    bind = op.get_bind()
    columns = ("folded", "name", "core", "pinyin", "initials", "trade", "trade_initials", "grams")
    search = sa.table("subject_search", sa.column("subject_id", sa.Uuid()), *(sa.column(c) for c in columns))
    subjects = sa.table("subjects", sa.column("id", sa.Uuid()), sa.column("name", sa.String()))
    records = sa.table("records", sa.column("subject_id", sa.Uuid()), sa.column("subject_name", sa.String()))
    bind.execute(sa.delete(search))
    last = None
    while True:
        query = sa.select(subjects.c.id, subjects.c.name).order_by(subjects.c.id).limit(CHUNK)
        if last is not None:
            query = query.where(subjects.c.id > last)
        chunk = bind.execute(query).all()
        if not chunk:
            return
        last = chunk[-1].id
        pairs = [(row.id, row.name) for row in chunk]
        pairs += [
            (row.subject_id, row.subject_name)
            for row in bind.execute(
                sa.select(records.c.subject_id, records.c.subject_name)
                .distinct()
                .where(records.c.subject_id.between(chunk[0].id, last))
            )
        ]
        rows = index_rows(pairs)
        if rows:
            op.bulk_insert(search, rows)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_subject_search_grams", table_name="subject_search")
    else:
        for trigger in ("subject_search_grams_au", "subject_search_grams_ad", "subject_search_grams_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS subject_search_fts_grams")
    op.drop_index("ix_subject_search_trade_initials", table_name="subject_search")
    op.drop_index("ix_subject_search_trade", table_name="subject_search")
    # Dropped in place, not by copying the table (batch mode): a copy would lose the rowids and the
    # triggers that keep subject_search_fts in step.
    for column in ("grams", "trade_initials", "trade"):
        op.execute(f"ALTER TABLE subject_search DROP COLUMN {column}")
