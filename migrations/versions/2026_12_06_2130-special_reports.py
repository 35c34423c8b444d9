"""Special reports (信用代证): a clean organisation gets one too, so a report may have no subject row;
a special report is found again the same day by its request (organisation, domains, years).

Revision ID: special_reports
Revises: search_grams
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "special_reports"
down_revision: str | None = "subject_merges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("public_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch_op.alter_column("subject_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(batch_op.f("ix_public_reports_request_key"), ["request_key"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM public_reports WHERE subject_id IS NULL")
    with op.batch_alter_table("public_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_reports_request_key"))
        batch_op.alter_column("subject_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("request_key")
