"""Check rows say which receipt format their signature covers (format 2 signs the approver's
reference too; rows before it, format 1 or null, did not).

The downgrade stores every format-2 receipt whole (its payload re-attached, rules_digest and
receipt_issuer null: "stored whole" to the code before), so no receipt changes going back.

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


def _payload(answer: dict[str, object], agency: str, state: str, rules: str, issuer: str) -> bytes:
    """A format-2 receipt's payload as app.checks.receipts signs it (frozen here: canonical JSON)."""
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
        "format": 2,
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
        ).where(checks.c.receipt_format == 2, checks.c.rules_digest.is_not(None))
    ).all()
    update = (
        checks.update()
        .where(checks.c.id == sa.bindparam("check_id"))
        .values(receipt=sa.bindparam("whole"), rules_digest=None, receipt_issuer=None)
    )
    whole = []
    for row in detached:
        header, _, signature = row.receipt.split(".")
        body = _payload(
            orjson.loads(row.answer), row.agency_code, row.state_digest, row.rules_digest, row.receipt_issuer
        )
        whole.append({"check_id": row.id, "whole": f"{header}.{body.decode()}.{signature}"})
        if len(whole) >= 5000:
            connection.execute(update, whole)
            whole.clear()
    if whole:
        connection.execute(update, whole)
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("receipt_format")
