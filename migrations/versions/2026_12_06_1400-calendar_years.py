"""Years whose official holiday schedule an administrator loaded as a whole (`registry calendar load`).

Until now any administrator's entry declared its year known. From now on a year is known when the
package covers it or its schedule was loaded as a whole; the upgrade records every year that already
has entries as loaded, so that no deadline the registry could compute before becomes unknown. The
downgrade drops the table: the old rule (any entry declares its year) takes over again.

Revision ID: calendar_years
Revises: persons_publication
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "calendar_years"
down_revision: str | None = "persons_publication"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    years = op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    overrides = sa.table("calendar_overrides", sa.column("day", sa.Date()))
    counts: dict[int, int] = {}
    for (day,) in op.get_bind().execute(sa.select(overrides.c.day)):
        counts[day.year] = counts.get(day.year, 0) + 1
    now = datetime.now(UTC)
    if counts and years is not None:
        op.bulk_insert(
            years,
            [
                {
                    "year": year,
                    "source": "entries made before whole-year loading",
                    "days": count,
                    "sha256": "",
                    "loaded_at": now,
                    "loaded_by": "system:migration",
                }
                for year, count in sorted(counts.items())
            ],
        )


def downgrade() -> None:
    op.drop_table("calendar_years")
