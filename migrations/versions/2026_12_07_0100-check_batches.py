"""Batch receipts' shared parts kept once per batch (issue 20): the signed root and the leaf
hashes; each check row of a batch names its batch and place instead of carrying them.

Revision ID: check_batches
Revises: watch_changes
Create Date: 2026-12-07 01:00:00
"""

import base64
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "check_batches"
down_revision: str | None = "watch_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_batches",
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("signed_root", sa.Text(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("root", name=op.f("pk_check_batches")),
    )


def _proof(leaves: list[bytes], index: int) -> bytes:
    """A leaf's sibling hashes up to the root (app.kit.merkle.proof_of, frozen here)."""
    proof, level = [], leaves
    while len(level) > 1:
        if index ^ 1 < len(level):
            proof.append(level[index ^ 1])
        above = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        level, index = above + ([level[-1]] if len(level) % 2 else []), index // 2
    return b"".join(proof)


def downgrade() -> None:
    """Batch rows get back the stored form they had before: `<root JWS>~~<index>~<proof>`."""
    connection = op.get_bind()
    checks = sa.table("checks", sa.column("id", sa.Uuid()), sa.column("receipt", sa.Text()))
    batches = sa.table(
        "check_batches",
        sa.column("root", sa.String()),
        sa.column("signed_root", sa.Text()),
        sa.column("leaves", sa.LargeBinary()),
    )
    update = (
        checks.update().where(checks.c.id == sa.bindparam("check_id")).values(receipt=sa.bindparam("stored"))
    )
    for root, signed_root, raw in connection.execute(sa.select(batches)).all():
        leaves = [bytes(raw)[i : i + 32] for i in range(0, len(raw), 32)]
        rows = connection.execute(
            sa.select(checks.c.id, checks.c.receipt).where(checks.c.receipt.like(f"batch:{root}:%"))
        ).all()
        stored = []
        for check_id, receipt in rows:
            index = int(receipt.rpartition(":")[2])
            proof = base64.urlsafe_b64encode(_proof(leaves, index)).rstrip(b"=").decode()
            stored.append({"check_id": check_id, "stored": f"{signed_root}~~{index}~{proof}"})
        if stored:
            connection.execute(update, stored)
    op.drop_table("check_batches")
