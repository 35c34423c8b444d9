"""Alerts and reads found by identifier: the access log shows a watchlist's alerts with the checks and
reads of a subject (国办发〔2020〕49号: strict query permissions, and a log that is read), and finds
reads by the identifier they name (a watchlist's page may name one the registry knew no subject by).

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
    op.create_index("ix_access_log_identifier_at", "access_log", ["identifier", "at"])


def downgrade() -> None:
    op.drop_index("ix_access_log_identifier_at", table_name="access_log")
    op.drop_index("ix_alerts_identifier_at", table_name="alerts")
