"""Notices before listing (国办发〔2020〕49号 (八)): the notices table, and on records how the subject
was told: the registry notice it was finalized from, or the notice the agency attested it served.
The downgrade drops both: the code before knew nothing of notices.

Revision ID: notices
Revises: case_appeals
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "notices"
down_revision: str | None = "case_appeals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=96), nullable=False),
        sa.Column("domain_code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("query_code_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=False),
        sa.Column("calendar_note", sa.String(length=300), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("stated_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("considered", sa.Text(), nullable=True),
        sa.Column("closed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=160), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_notices_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["domain_code"], ["domains.code"], name=op.f("fk_notices_domain_code_domains")
        ),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_notices_record_id_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("query_code_hash", name=op.f("uq_notices_query_code_hash")),
    )
    op.create_index("ix_notices_agency_status", "notices", ["agency_code", "status"], unique=False)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("notice_document_no", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("notice_served_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("notice_served_on")
        batch_op.drop_column("notice_document_no")
        batch_op.drop_column("notice_id")
    op.drop_index("ix_notices_agency_status", table_name="notices")
    op.drop_table("notices")
