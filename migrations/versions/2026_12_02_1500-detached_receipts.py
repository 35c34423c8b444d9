"""Check receipts stored with their payload detached: the rows gain the two claims they lacked.

A check row kept its whole receipt (about 900 bytes of base64, every claim of which is also in the
row). From now on it keeps `header..signature` (RFC 7515 Appendix F) and the receipt is rebuilt on
read from the row (app.checks.receipts); `rules_digest` and `receipt_issuer` are the receipt's claims
that were in no column. Existing rows keep their whole receipts (both columns null). The downgrade
re-attaches the payload of every detached receipt, so nothing is lost going back.

Revision ID: d4a7e9b1c3f2
Revises: d4a6b8c0e2f1
Create Date: 2026-12-02 15:00:00
"""

import base64
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "d4a7e9b1c3f2"
down_revision: str | None = "d4a6b8c0e2f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt_issuer", sa.String(length=200), nullable=True))


def _payload(answer: dict[str, object], agency: str, state: str, rules: str, issuer: str) -> bytes:
    """The receipt's payload as app.checks.receipts signs it (frozen here: canonical JSON)."""
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
        ).where(checks.c.rules_digest.is_not(None))
    ).all()
    update = (
        checks.update().where(checks.c.id == sa.bindparam("check_id")).values(receipt=sa.bindparam("whole"))
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
        batch_op.drop_column("receipt_issuer")
        batch_op.drop_column("rules_digest")
