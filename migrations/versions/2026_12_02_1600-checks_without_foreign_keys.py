"""Check rows without foreign keys to subjects and agencies.

A check row is the registry's own log of an answer, written from the subject and the agency it read
in the same transaction; neither subjects nor agencies are ever deleted. The two constraints added
nothing those guarantees do not, and checking them row by row was the largest single cost of storing
a batch (10,000 checks: about 0.4 s of PostgreSQL's time, of 0.9 s in all). The downgrade puts them
back (they hold for every row written since).

Revision ID: e5b8f0c2d4a6
Revises: d4a7e9b1c3f2
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5b8f0c2d4a6"
down_revision: str | None = "d4a7e9b1c3f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_checks_agency_code_agencies", type_="foreignkey")
        batch_op.drop_constraint("fk_checks_subject_id_subjects", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_checks_agency_code_agencies", "agencies", ["agency_code"], ["code"])
        batch_op.create_foreign_key("fk_checks_subject_id_subjects", "subjects", ["subject_id"], ["id"])
