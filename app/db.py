"""Engine, the per-request session, and the declarative Base every model shares.

The request owns the transaction: services only flush; `session_scope` commits when the request
succeeds and rolls back on any error, so a failed request stores nothing.
"""

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    Uuid,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on both databases (SQLite stores them without an offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# The RFC 4122 variant bits (10xx) over a random hex digit's low two bits.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_id_texts(count: int) -> list[str]:
    """`count` new time-ordered UUIDs (version 7: the Unix time in milliseconds, then 74 random
    bits) in their text form, for rows inserted by the thousand (checks). Ids made at about the same
    time sit together in the primary key's index, so an insert touches its newest pages instead of
    a random page each (a grouped commit of checks on SQLite measured ~40% shorter than with random
    version 4 ids). One read of the OS's random source for all of them: `str(uuid.uuid4())`
    costs a system call and two Python-level constructors per id, which a batch of 10,000 noticed.
    """
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    prefix = f"{stamp[:8]}-{stamp[8:]}-7"
    digits = os.urandom(10 * count).hex()
    ids = []
    for start in range(0, 20 * count, 20):
        h = digits[start : start + 20]
        ids.append(f"{prefix}{h[:3]}-{_VARIANT_DIGIT[h[3]]}{h[4:7]}-{h[7:19]}")
    return ids


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


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


def bulk_insert(session: Session, model: type["Base"], rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, executemany elsewhere.

    Every row must carry the same keys, with tz-aware datetimes (COPY skips column type hooks).
    """
    if not rows:
        return
    names = list(rows[0])
    with bulk_writer(session, model, names) as write:
        for row in rows:
            write([row[name] for name in names])


@contextmanager
def bulk_writer(
    session: Session, model: type["Base"], columns: Sequence[str]
) -> Iterator[Callable[[Sequence[Any]], None]]:
    """`write(values)` for many rows, each its values in `columns` order, inserted in the session's
    transaction as they come.

    On PostgreSQL one COPY streams them to the server every few hundred rows, so the server stores
    the first rows while the caller produces the next ones; elsewhere one executemany at the end.
    Datetimes must be tz-aware (COPY skips column type hooks); UUID columns take UUIDs or their text.
    An exception inside the block aborts the COPY.
    """
    table: Table = model.__table__  # type: ignore[assignment]
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        pending: list[Sequence[Any]] = []
        yield pending.append
        if pending:
            names = tuple(columns)
            processors = _bind_processors(connection.dialect, table, names)
            rows = [_driver_row(processors, values) for values in pending]
            connection.exec_driver_sql(_insert_statement(table, names), rows)
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(copy_statement(model, columns)) as copy:
        lines: list[str] = []

        def write(values: Sequence[Any]) -> None:
            line = copy_line(values)
            if line is None:  # a value of a kind formatted here only by the driver
                if lines:
                    copy.write("".join(lines))
                    lines.clear()
                copy.write_row(values)
                return
            lines.append(line)
            if len(lines) >= 500:
                copy.write("".join(lines))
                lines.clear()

        yield write
        if lines:
            copy.write("".join(lines))


@lru_cache(maxsize=64)
def _bind_processors(
    dialect: Any, table: Table, columns: tuple[str, ...]
) -> list[Callable[[Any], Any] | None]:
    """Each column's own conversion to what the driver stores (SQLAlchemy's bind processor of its
    type on this dialect), so that rows given straight to the driver's executemany are stored as
    SQLAlchemy would store them; UUID columns also take their text form."""
    processors: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column_type = table.c[name].type
        process: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(column_type, Uuid) and process is not None:
            process = _taking_uuid_text(process)
        processors.append(process)
    return processors


def _driver_row(processors: list[Callable[[Any], Any] | None], values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        value if process is None else process(value)
        for process, value in zip(processors, values, strict=True)
    )


def _taking_uuid_text(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process_text_or_uuid(value: Any) -> Any:
        return process(uuid.UUID(value) if isinstance(value, str) else value)

    return process_text_or_uuid


@lru_cache(maxsize=64)
def _insert_statement(table: Table, columns: tuple[str, ...]) -> str:
    """INSERT with positional parameters (the qmark style of sqlite3, the one other driver)."""
    names = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'


def _copy_text(value: str) -> str:
    """A string escaped for COPY's text format. `str.translate` with a mapping costs a dict lookup
    per character (most of a batch's COPY time on long non-ASCII JSON text); searching for the four
    special characters and replacing only when present runs in C."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


@lru_cache(maxsize=256)  # the rows of a batch share their timestamps
def _copy_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to bulk_insert")
    return value.isoformat()


# How each Python type is written in COPY's text format: one dict lookup per value, no isinstance chain.
_COPY_FORMATS: dict[type, Callable[[Any], str]] = {
    str: _copy_text,
    bool: lambda value: "t" if value else "f",
    int: str,
    uuid.UUID: str,
    datetime: _copy_datetime,
    date: date.isoformat,
    type(None): lambda _: "\\N",
}


def copy_line(values: Sequence[Any]) -> str | None:
    """One line of COPY's text format, built in Python (several times faster than the driver's
    per-value adaptation); None when a value is of a type not handled here (str, bool, int, None,
    UUID, date and tz-aware datetime are)."""
    out = []
    for value in values:
        format_value = _COPY_FORMATS.get(type(value))
        if format_value is None:
            return None
        out.append(format_value(value))
    return "\t".join(out) + "\n"


def copy_statement(model: type["Base"], columns: Sequence[str]) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    return f'COPY "{model.__tablename__}" ({names}) FROM STDIN'


def column_in(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values` as one array parameter on PostgreSQL, whose plan does not depend on the
    number of values (a long IN list ends up with a generic plan that scans).

    The array is unnested into a semi-join rather than compared with `= ANY(array)`: once a
    statement is prepared, PostgreSQL's generic plan may filter rows with ANY over a parameter,
    which searches the array linearly for every row it reads (seen: 1.5 s to look up 1,000
    external ids among 20,000 records, a few ms as a join)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.in_(select(func.unnest(bindparam(None, values, type_=ARRAY(column.type)))))
    return column.in_(values)


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
