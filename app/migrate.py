"""Alembic, driven from code: `registry serve` and the tests build the schema the same way.

Alembic itself is imported only to migrate (`registry serve` before its workers start, `registry
migrate`, the tests): a worker only compares the database's revision with HEAD for /readyz, and
importing alembic (and the template engine and highlighter it pulls in) cost each worker ~9 MiB.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# The schema this code is written for: the newest migration's revision. A new migration changes it
# (tests/ops/test_operations.py checks it against alembic's own reading of migrations/).
HEAD = "alert_identifiers"


def _project_root() -> Path:
    """Where alembic.ini and migrations/ live: beside app/ in a checkout, else the working directory
    (the container image copies them to its WORKDIR)."""
    for candidate in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (candidate / "alembic.ini").is_file():
            return candidate
    raise RuntimeError("alembic.ini not found beside app/ or in the working directory")


def alembic_config(database_url: str | None = None) -> "Config":
    from alembic.config import Config

    root = _project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    return HEAD


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (alembic's own table), None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(revisions) > 1:
        raise RuntimeError(f"the database is at several revisions at once: {sorted(revisions)}")
    return revisions[0] if revisions else None
