"""Check rows say which receipt format their signature covers: format 2 (a JWS that signs the
approver's reference too; rows before it, format 1 or null, did not) or 3 (a batch item: a Merkle
proof and the batch's signed root, `root~payload~index~proof`).

The downgrade stores every format-2 and format-3 receipt whole (its payload re-attached,
rules_digest and receipt_issuer null: "stored whole" to the code before), so no receipt changes
going back.

Revision ID: receipt_format
Revises: e5b8f0c2d4a6
Create Date: 2026-12-06 10:00:00
"""

import base64
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "receipt_format"
down_revision: str | None = "e5b8f0c2d4a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_format", sa.SmallInteger(), nullable=True))


def _payload(
    answer: dict[str, object], agency: str, state: str, rules: str, issuer: str, receipt_format: int
) -> bytes:
    """A format-2 or -3 receipt's payload as app.checks.receipts signs it (frozen here)."""
    claims = {
        "typ": "registry-check-receipt",
        "iss": issuer,
        "check_id": answer["id"],
        "agency": agency,
        "subject": answer["identifier"],
        "found": answer["found"],
        "action": answer["action"],
        "decision": answer["decision"],
        "measures": [m["code"] for m in answer["measures"]],  # type: ignore[attr-defined]
        "incentives": [m["code"] for m in answer["incentives"]],  # type: ignore[attr-defined]
        "as_of": answer["as_of"],
        "checked_at": answer["checked_at"],
        "state": {"digest": state, "rules": rules},
        "format": receipt_format,
        "reference": answer["reference"],
    }
    return base64.urlsafe_b64encode(orjson.dumps(claims, option=orjson.OPT_SORT_KEYS)).rstrip(b"=")


def downgrade() -> None:
    connection = op.get_bind()
    checks = sa.table(
        "checks",
        sa.column("id", sa.Uuid()),
        sa.column("agency_code", sa.String()),
        sa.column("state_digest", sa.String()),
        sa.column("answer", sa.Text()),
        sa.column("receipt", sa.Text()),
        sa.column("rules_digest", sa.String()),
        sa.column("receipt_issuer", sa.String()),
        sa.column("receipt_format", sa.SmallInteger()),
    )
    detached = connection.execute(
        sa.select(
            checks.c.id,
            checks.c.agency_code,
            checks.c.state_digest,
            checks.c.answer,
            checks.c.receipt,
            checks.c.rules_digest,
            checks.c.receipt_issuer,
            checks.c.receipt_format,
        ).where(checks.c.receipt_format.in_([2, 3]), checks.c.rules_digest.is_not(None))
    ).all()
    update = (
        checks.update()
        .where(checks.c.id == sa.bindparam("check_id"))
        .values(receipt=sa.bindparam("whole"), rules_digest=None, receipt_issuer=None)
    )
    whole = []
    for row in detached:
        answer = orjson.loads(row.answer)
        body = _payload(
            answer,
            row.agency_code,
            row.state_digest,
            row.rules_digest,
            row.receipt_issuer,
            row.receipt_format,
        ).decode()
        if row.receipt_format == 3:
            root, _, index, proof = row.receipt.split("~")
            receipt = f"{root}~{body}~{index}~{proof}"
        else:
            header, _, signature = row.receipt.split(".")
            receipt = f"{header}.{body}.{signature}"
        whole.append({"check_id": row.id, "whole": receipt})
        if len(whole) >= 5000:
            connection.execute(update, whole)
            whole.clear()
    if whole:
        connection.execute(update, whole)
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("receipt_format")
