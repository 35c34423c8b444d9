"""Merging two subjects found to be the same entity: the merged subject points at the one that
remains, and each merge keeps what it moved so it can be undone.

Revision ID: subject_merges
Revises: issued_references
Create Date: 2026-12-06 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "subject_merges"
down_revision: str | None = "issued_references"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_subjects_merged_into_subjects"), "subjects", ["merged_into"], ["id"]
        )
    op.create_table(
        "subject_merges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_subject_id", sa.Uuid(), nullable=False),
        sa.Column("into_subject_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("merged_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_subject_id"], ["subjects.id"], name=op.f("fk_subject_merges_from_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["into_subject_id"], ["subjects.id"], name=op.f("fk_subject_merges_into_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_merges")),
    )
    op.create_index(op.f("ix_subject_merges_from_subject_id"), "subject_merges", ["from_subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_subject_merges_from_subject_id"), table_name="subject_merges")
    op.drop_table("subject_merges")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_constraint(batch.f("fk_subjects_merged_into_subjects"), type_="foreignkey")
        batch.drop_column("merged_into")
