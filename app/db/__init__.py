"""The database: models' Base and column types (base), engines and the request's transaction
(session), many rows at once (bulk), async connections for the event-loop paths (asyncpool)."""

from app.db.base import (
    NAMING_CONVENTION,
    Base,
    JSONType,
    UTCDateTime,
    new_id,
    new_id_texts,
    random_ids,
    time_ordered_ids,
)
from app.db.bulk import bulk_insert, bulk_writer, column_in, copy_line, copy_statement
from app.db.session import (
    DbSession,
    ReadSession,
    get_engine,
    get_read_engine,
    get_read_session,
    get_read_sessionmaker,
    get_session,
    get_sessionmaker,
    make_engine,
    read_snapshot,
    refresh_statistics,
    serialize_writers,
    session_scope,
)

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "DbSession",
    "JSONType",
    "ReadSession",
    "UTCDateTime",
    "bulk_insert",
    "bulk_writer",
    "column_in",
    "copy_line",
    "copy_statement",
    "get_engine",
    "get_read_engine",
    "get_read_session",
    "get_read_sessionmaker",
    "get_session",
    "get_sessionmaker",
    "make_engine",
    "new_id",
    "new_id_texts",
    "random_ids",
    "read_snapshot",
    "refresh_statistics",
    "serialize_writers",
    "session_scope",
    "time_ordered_ids",
]
