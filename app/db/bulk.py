"""Writing many rows at once: COPY on PostgreSQL, the driver's executemany on SQLite."""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.db.base import Base


def bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
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
    session: Session, model: type[Base], columns: Sequence[str]
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
    special characters and replacing only when present runs in C (written out: a loop over them
    costs ~50 ns more a value, on every text value of every bulk insert)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def copy_utf8_text(value: bytes) -> bytes:
    """_copy_text on text already encoded as UTF-8 (what orjson makes), for a caller that writes
    COPY's data as bytes (app.checks.store)."""
    if b"\\" in value:
        value = value.replace(b"\\", b"\\\\")
    if b"\t" in value:
        value = value.replace(b"\t", b"\\t")
    if b"\n" in value:
        value = value.replace(b"\n", b"\\n")
    if b"\r" in value:
        value = value.replace(b"\r", b"\\r")
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


def copy_statement(model: type[Base], columns: Sequence[str]) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    return f'COPY "{model.__tablename__}" ({names}) FROM STDIN'


def column_in(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values` as one array parameter on PostgreSQL, whose plan does not depend on the
    number of values (a long IN list ends up with a generic plan that scans).

    The array is unnested into a semi-join rather than compared with `= ANY(array)`: once a
    statement is prepared, PostgreSQL's generic plan may filter rows with ANY over a parameter,
    which searches the array linearly for every row it reads (seconds instead of milliseconds for
    1,000 ids: docs/benchmarks.md). Neither form survives statistics gathered on near-empty tables:
    then the semi-join's generic plan compares every row with every value too (docs/operations.md,
    "Planner statistics")."""
    if session.get_bind().dialect.name == "postgresql":
        return column.in_(select(func.unnest(bindparam(None, values, type_=ARRAY(column.type)))))
    return column.in_(values)
