"""Repair, fully: a case keeps its written decision, a rejected repair its appeal deadline, and an
appeal (a case of its own kind) points at the repair it appeals and has no query code of its own.

The downgrade deletes appeals (their evidence files first): the schema before had no place for them.

Revision ID: case_appeals
Revises: calendar_years
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "case_appeals"
down_revision: str | None = "calendar_years"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("query_code_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("appeal_of_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_agency", sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column("appeal_by", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "decision_document",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(batch_op.f("uq_cases_appeal_of_id"), ["appeal_of_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_appeal_of_id_cases"), "cases", ["appeal_of_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_decided_by_agency_agencies"), "agencies", ["decided_by_agency"], ["code"]
        )


def downgrade() -> None:
    appeals = "SELECT id FROM cases WHERE kind = 'appeal'"
    op.execute(f"DELETE FROM case_files WHERE case_id IN ({appeals})")
    op.execute("DELETE FROM cases WHERE kind = 'appeal'")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_decided_by_agency_agencies"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_cases_appeal_of_id_cases"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_cases_appeal_of_id"), type_="unique")
        batch_op.drop_column("decision_document")
        batch_op.drop_column("appeal_by")
        batch_op.drop_column("decided_by_agency")
        batch_op.drop_column("appeal_of_id")
        batch_op.alter_column("query_code_hash", existing_type=sa.String(length=64), nullable=False)
