"""Public face: the name search index (pg_trgm GIN / SQLite FTS5 trigram) and issued credit reports.

The index is filled for the subjects that already exist (app.records.search_index.reindex).

Revision ID: c8f2d3e4a5b6
Revises: b7e1c2d3f4a5
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "c8f2d3e4a5b6"
down_revision: str | None = "b7e1c2d3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: an external-content FTS5 table over subject_search, kept in step by triggers.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE subject_search_fts USING fts5("
    "core, pinyin, content='subject_search', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER subject_search_ai AFTER INSERT ON subject_search BEGIN "
    "INSERT INTO subject_search_fts(rowid, core, pinyin) VALUES (new.rowid, new.core, new.pinyin); END",
    "CREATE TRIGGER subject_search_ad AFTER DELETE ON subject_search BEGIN "
    "INSERT INTO subject_search_fts(subject_search_fts, rowid, core, pinyin) "
    "VALUES ('delete', old.rowid, old.core, old.pinyin); END",
    "CREATE TRIGGER subject_search_au AFTER UPDATE ON subject_search BEGIN "
    "INSERT INTO subject_search_fts(subject_search_fts, rowid, core, pinyin) "
    "VALUES ('delete', old.rowid, old.core, old.pinyin); "
    "INSERT INTO subject_search_fts(rowid, core, pinyin) VALUES (new.rowid, new.core, new.pinyin); END",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "subject_search",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("folded", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("core", sa.String(length=200), nullable=False),
        sa.Column("pinyin", sa.String(length=1000), nullable=False),
        sa.Column("initials", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_search_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("subject_id", "folded", name=op.f("pk_subject_search")),
    )
    with op.batch_alter_table("subject_search", schema=None) as batch_op:
        for column in ("core", "pinyin", "initials"):
            batch_op.create_index(
                f"ix_subject_search_{column}", [column], postgresql_ops={column: "text_pattern_ops"}
            )
    if postgres:
        for column in ("core", "pinyin"):
            op.create_index(
                f"ix_subject_search_{column}_trgm",
                "subject_search",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)

    op.create_table(
        "public_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("issued_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("summary", app.db.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_public_reports_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_reports")),
    )
    with op.batch_alter_table("public_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_reports_subject_id"), ["subject_id"], unique=False)

    # Subjects stored before the index existed become findable now. The table is described here,
    # not imported from the models, so that this step keeps working after later schema changes.
    from app.records.search_index import index_rows

    text_columns = ("folded", "name", "core", "pinyin", "initials")
    search = sa.table(
        "subject_search", sa.column("subject_id", sa.Uuid()), *(sa.column(name) for name in text_columns)
    )
    subjects = sa.table("subjects", sa.column("id", sa.Uuid()), sa.column("name", sa.String()))
    former = sa.table("subject_names", sa.column("subject_id", sa.Uuid()), sa.column("name", sa.String()))
    names = op.get_bind().execute(
        sa.union(sa.select(subjects.c.id, subjects.c.name), sa.select(former.c.subject_id, former.c.name))
    )
    rows = index_rows((subject_id, name) for subject_id, name in names)
    for start in range(0, len(rows), 5000):
        op.bulk_insert(search, rows[start : start + 5000])


def downgrade() -> None:
    with op.batch_alter_table("public_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_reports_subject_id"))
    op.drop_table("public_reports")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_subject_search_pinyin_trgm", table_name="subject_search")
        op.drop_index("ix_subject_search_core_trgm", table_name="subject_search")
    else:
        for trigger in ("subject_search_au", "subject_search_ad", "subject_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS subject_search_fts")
    with op.batch_alter_table("subject_search", schema=None) as batch_op:
        for column in ("initials", "pinyin", "core"):
            batch_op.drop_index(f"ix_subject_search_{column}")
    op.drop_table("subject_search")
