"""Related parties: the people behind an organisation's record (legal representative, principal,
responsible persons, actual controller), and rules that say whether a measure reaches them.

Revision ID: related_parties
Revises: daily_extracts
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "related_parties"
down_revision: str | None = "daily_extracts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_parties",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_parties_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_record_parties_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("record_id", "subject_id", "role", name=op.f("pk_record_parties")),
    )
    op.create_index("ix_record_parties_subject_id", "record_parties", ["subject_id"], unique=False)
    # In place (not batch mode): SQLite adds a plain column without copying the table.
    op.add_column(
        "rules", sa.Column("applies_to", sa.String(length=16), server_default="subject", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("rules", "applies_to")
    op.drop_index("ix_record_parties_subject_id", table_name="record_parties")
    op.drop_table("record_parties")
