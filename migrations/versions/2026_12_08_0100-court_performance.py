"""Court listings record the obligations the judgment sets and how far the debtor has performed them
(法释〔2017〕7号 第六条（三）: part of what a court's listing records and publishes).

Revision ID: court_performance
Revises: worker_notify
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "court_performance"
down_revision: str | None = "worker_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("performance", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_column("performance")
