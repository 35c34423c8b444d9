"""Name history read from the records themselves: drop subject_names.

Every record keeps the subject's name as its agency wrote it (records.subject_name, with the agency
and the time received), so the names a subject was pushed under are those of its records; the
separate table repeated them and cost every push a row and two foreign-key checks. The downgrade
rebuilds the table from the records (one row per record, keyed by the record's id).

Revision ID: d4a6b8c0e2f1
Revises: c8f2d3e4a5b6
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "d4a6b8c0e2f1"
down_revision: str | None = "c8f2d3e4a5b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subject_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_names_subject_id"))
    op.drop_table("subject_names")


def downgrade() -> None:
    op.create_table(
        "subject_names",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_code", sa.String(length=96), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_subject_names_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_names_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_names")),
    )
    with op.batch_alter_table("subject_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_names_subject_id"), ["subject_id"], unique=False)
    op.execute(
        "INSERT INTO subject_names (id, subject_id, name, agency_code, record_id, recorded_at) "
        "SELECT id, subject_id, subject_name, agency_code, id, received_at FROM records"
    )
