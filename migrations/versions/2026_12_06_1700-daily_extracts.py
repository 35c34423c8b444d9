"""The index of the daily signed extracts (issue 16): one row per file, with the day's manifest.

The files themselves live in the extracts directory (REGISTRY_EXTRACTS_DIR), not in the database.

Revision ID: daily_extracts
Revises: notices
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "daily_extracts"
down_revision: str | None = "notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extracts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("ndjson_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("previous", sa.Date(), nullable=True),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("made_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", name=op.f("pk_extracts")),
    )


def downgrade() -> None:
    op.drop_table("extracts")
