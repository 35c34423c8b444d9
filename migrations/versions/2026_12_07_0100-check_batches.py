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


def _proofs(leaves: list[bytes]) -> list[bytes]:
    """Every leaf's sibling hashes up to the root, concatenated (app.kit.merkle.root_and_proofs,
    frozen here): one pass over the tree for the whole batch."""
    proofs: list[list[bytes]] = [[] for _ in leaves]
    under = [range(i, i + 1) for i in range(len(leaves))]
    level = leaves
    while len(level) > 1:
        above, above_under = [], []
        for i in range(0, len(level) - 1, 2):
            for leaf in under[i]:
                proofs[leaf].append(level[i + 1])
            for leaf in under[i + 1]:
                proofs[leaf].append(level[i])
            above.append(hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest())
            above_under.append(range(under[i].start, under[i + 1].stop))
        if len(level) % 2:
            above.append(level[-1])
            above_under.append(under[-1])
        level, under = above, above_under
    return [b"".join(proof) for proof in proofs]


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
    shared = {
        root: (signed_root, bytes(raw)) for root, signed_root, raw in connection.execute(sa.select(batches))
    }
    rows = connection.execute(
        sa.select(checks.c.id, checks.c.receipt).where(checks.c.receipt.startswith("batch:", autoescape=True))
    ).all()
    proofs: dict[str, list[bytes]] = {}  # by root, made once per batch
    stored = []
    for check_id, receipt in rows:
        root, _, index_text = receipt.removeprefix("batch:").rpartition(":")
        signed_root, raw = shared[root]
        if root not in proofs:
            proofs[root] = _proofs([raw[i : i + 32] for i in range(0, len(raw), 32)])
        proof = base64.urlsafe_b64encode(proofs[root][int(index_text)]).rstrip(b"=").decode()
        stored.append({"check_id": check_id, "stored": f"{signed_root}~~{index_text}~{proof}"})
        if len(stored) >= 5000:
            connection.execute(update, stored)
            stored.clear()
    if stored:
        connection.execute(update, stored)
    op.drop_table("check_batches")
