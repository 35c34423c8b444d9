"""Court listings and exits: a listing may have no fixed end (法释〔2017〕7号, the first ground: until
the debt is performed), records name the court's listing ground, and an exit says by when other
platforms must have taken it down.

The downgrade gives listings without an end the longest court period (5 years from the decision),
as the code before expected an end on every record.

Revision ID: court_listings
Revises: receipt_format
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "court_listings"
down_revision: str | None = "receipt_format"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.alter_column("publicity_end", existing_type=sa.Date(), nullable=True)
        batch_op.add_column(sa.Column("listing_basis", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("exit_sync_by", sa.Date(), nullable=True))


def downgrade() -> None:
    connection = op.get_bind()
    undated = connection.execute(
        sa.text("SELECT id, decision_date FROM records WHERE publicity_end IS NULL")
    ).all()
    for record_id, decided in undated:
        if isinstance(decided, str):  # SQLite hands dates back as text here
            decided = date.fromisoformat(decided)
        end = decided.replace(year=decided.year + 5, day=min(decided.day, 28))
        connection.execute(
            sa.text("UPDATE records SET publicity_end = :end WHERE id = :id"), {"end": end, "id": record_id}
        )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("exit_sync_by")
        batch_op.drop_column("listing_basis")
        batch_op.alter_column("publicity_end", existing_type=sa.Date(), nullable=False)
