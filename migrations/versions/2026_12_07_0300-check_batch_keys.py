"""A batch of checks named by an id chosen before it is signed (issue 20): its rows can then be
written while later items are still being decided. Batches stored before keep their root as name.

Revision ID: check_batch_keys
Revises: check_batches
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "check_batch_keys"
down_revision: str | None = "check_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_batches") as table:
        table.add_column(sa.Column("key", sa.String(36), nullable=True))
        table.create_unique_constraint(op.f("uq_check_batches_key"), ["key"])


def downgrade() -> None:
    """Rows that name their batch by its id name it by its root again: `batch:<root>:<index>`."""
    connection = op.get_bind()
    checks = sa.table("checks", sa.column("id", sa.Uuid()), sa.column("receipt", sa.Text()))
    batches = sa.table("check_batches", sa.column("root", sa.String()), sa.column("key", sa.String()))
    roots = {
        key: root
        for key, root in connection.execute(
            sa.select(batches.c.key, batches.c.root).where(batches.c.key.is_not(None))
        )
    }
    update = (
        checks.update().where(checks.c.id == sa.bindparam("check_id")).values(receipt=sa.bindparam("stored"))
    )
    rows = connection.execute(
        sa.select(checks.c.id, checks.c.receipt).where(checks.c.receipt.startswith("batch:", autoescape=True))
    ).all()
    stored = []
    for check_id, receipt in rows:
        key, _, index_text = receipt.removeprefix("batch:").rpartition(":")
        if key in roots:
            stored.append({"check_id": check_id, "stored": f"batch:{roots[key]}:{index_text}"})
        if len(stored) >= 5000:
            connection.execute(update, stored)
            stored.clear()
    if stored:
        connection.execute(update, stored)
    with op.batch_alter_table("check_batches") as table:
        table.drop_constraint(op.f("uq_check_batches_key"), type_="unique")
        table.drop_column("key")
