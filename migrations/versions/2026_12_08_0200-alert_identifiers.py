"""Alerts found by identifier: the access log shows them with the checks and reads of a subject
(国办发〔2020〕49号: strict query permissions, and a log that is read), and a watchlist's alerts are
decisions about each identifier it holds.

Revision ID: alert_identifiers
Revises: court_performance
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "alert_identifiers"
down_revision: str | None = "court_performance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_identifier_at", "alerts", ["identifier", "at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_identifier_at", table_name="alerts")
