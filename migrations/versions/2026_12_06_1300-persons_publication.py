"""Each domain says whether natural persons' records are published (国办发〔2020〕49号: publication
lawful and necessary): court listings by law (法释〔2017〕7号 第七条), the others shared only, until an
administrator decides otherwise.

Revision ID: persons_publication
Revises: access_log
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "persons_publication"
down_revision: str | None = "access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: on SQLite that would rebuild `domains`, which other tables' foreign keys name;
    # SQLite adds and drops a plain column in place.
    op.add_column(
        "domains", sa.Column("persons_public", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "domains", sa.Column("persons_basis", sa.String(length=500), server_default="", nullable=False)
    )
    op.execute(
        "UPDATE domains SET persons_public = true, persons_basis = '法释〔2017〕7号 第六条、第七条' "
        "WHERE code = 'court_judgments'"
    )


def downgrade() -> None:
    op.drop_column("domains", "persons_basis")
    op.drop_column("domains", "persons_public")
