"""Alembic environment: the app's metadata is the target; the URL comes from the app's settings."""

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import pool, text

from app.config import get_settings
from app.db import make_engine
from app.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
# Several instances starting at once (containers, workers) migrate one at a time on PostgreSQL: the
# lock lasts the migration's transaction, and whoever comes second finds the schema already at head.
MIGRATION_LOCK_KEY = 0x7265676973747279  # "registry"


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url


def _include_object_for(dialect: str) -> Any:
    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        # SQLite's FTS5 search table and its shadow tables are made by the search migration.
        if type_ == "table" and (name or "").startswith("subject_search_fts"):
            return False
        # Indexes that exist on one database only (pg_trgm GIN) say so in their info.
        only_on = getattr(obj, "info", {}).get("only_on")
        return not (type_ == "index" and only_on and only_on != dialect)

    return include_object


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool) if _url().startswith("sqlite") else None
    if engine is None:
        from sqlalchemy import create_engine

        engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the original, which its foreign-key
            # enforcement refuses while other tables' rows name the original: off for the migration
            # (a PRAGMA outside any transaction), and every key checked once it is done.
            driver = connection.connection.driver_connection  # autocommit: outside any transaction
            driver.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
            include_object=_include_object_for(connection.dialect.name),
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            context.run_migrations()
        if sqlite:
            broken = driver.execute("PRAGMA foreign_key_check").fetchall()
            driver.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys name nothing: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
