"""Engines, the per-request session and its transaction.

The request owns the transaction: services only flush; `session_scope` commits when the request
succeeds and rolls back on any error, so a failed request stores nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings

# Every PostgreSQL connection talks UTF-8, whatever PGCLIENTENCODING says in the environment: a
# check's answer is written to COPY as the UTF-8 bytes it was made in (app.checks.store), and text
# in another client encoding could not carry every name (an emoji has no GBK form).
CLIENT_ENCODING = "UTF8"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"client_encoding": CLIENT_ENCODING},
        **kwargs,
    )


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # We issue BEGIN ourselves (below) so that writers can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writing request reads (existing records, the audit chain's head) before it writes; in WAL
        # mode a concurrent commit in between would make its first write fail. BEGIN IMMEDIATE takes
        # the write lock first, so writers queue instead of failing.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def refresh_statistics(engine: Engine) -> None:
    """PostgreSQL: ANALYZE, after a bulk load (import, restore, reindex). Autovacuum gathers the
    planner's statistics too, but only a while later, and not at all where it is turned off: until
    then the planner plans for the tables as they were (empty, after a restore), and reading the
    records of thousands of identifiers at once can take minutes instead of milliseconds
    (docs/operations.md, "Planner statistics")."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url)


@lru_cache
def get_read_engine() -> Engine:
    """The replica when REGISTRY_READ_DATABASE_URL is set, else the primary itself."""
    url = get_settings().read_database_url
    return make_engine(url) if url else get_engine()


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


@lru_cache
def get_read_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_read_engine(), expire_on_commit=False, autoflush=False)


# Any constant will do: it names "the registry's writers" among PostgreSQL advisory locks.
WRITERS_LOCK_KEY = 0x5245474953545259  # "REGISTRY"


def serialize_writers(session: Session) -> None:
    """Wait until no other transaction writing the registry's log holds the writers' lock, and hold
    it until this one ends: a writer that reads before it writes (is this record new? the audit
    chain's head) then cannot race another. PostgreSQL: a transaction-level advisory lock, taken
    again at no cost by the same transaction; SQLite: writing transactions begin IMMEDIATE and so
    already hold the database's one write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK_KEY})


@contextmanager
def session_scope(*, writing: bool = True) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = get_sessionmaker()()
    try:
        if writing:
            session.connection(execution_options={"sqlite_immediate": True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_snapshot() -> Iterator[Connection]:
    """A connection of its own in a read-only transaction whose reads all see the database as it
    stood at the first of them (REPEATABLE READ on PostgreSQL; any transaction on SQLite's WAL)."""
    engine = get_engine()
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def get_session(request: Request) -> Iterator[Session]:
    """The request's transaction; reads skip SQLite's up-front write lock."""
    with session_scope(writing=request.method not in ("GET", "HEAD", "OPTIONS")) as session:
        yield session


def get_read_session() -> Iterator[Session]:
    """A read-only transaction on the replica (or the primary when none is configured)."""
    session = get_read_sessionmaker()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


# scope="function": commit before the response is sent, so a 2xx means the data is stored.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
# For answers that may lag the primary by a moment and write nothing.
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]
