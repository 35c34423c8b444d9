"""PostgreSQL tells the delivery workers of every process when there is work (issue 16): a row in the
outbox (`watch_changes`: alerts to make) or new deliveries (webhooks to send) notify a channel as
their transaction commits (nothing for one that rolls back), so that a worker in a process of its
own starts at once instead of at its next poll. SQLite has one process: nothing to do.

Revision ID: worker_notify
Revises: check_batch_keys
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "worker_notify"
down_revision: str | None = "check_batch_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the channel app.monitoring.wake listens to for its worker
CHANNELS = {"watch_changes": "registry_maker", "deliveries": "registry_sender"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, channel in CHANNELS.items():
        op.execute(
            f"CREATE FUNCTION {channel}_notify() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$"
        )
        # once per statement: a COPY of 1,000 deliveries notifies once
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {channel}_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, channel in CHANNELS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {channel}_notify()")
