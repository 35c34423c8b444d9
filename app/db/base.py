"""The declarative Base every model shares, its column types, and new ids."""

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, and_, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

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


def time_ordered_ids() -> Iterator[uuid.UUID]:
    """New time-ordered UUIDs (as new_id_texts makes them), for as many rows as a batch inserts:
    made 256 at a time from one read of the OS's random source."""
    while True:
        yield from map(uuid.UUID, new_id_texts(256))


def random_ids() -> Iterator[uuid.UUID]:
    """New random UUIDs (version 4), made 256 at a time from one read of the OS's random source: for
    rows whose id is shown to the public, where a time-ordered id would tell when the row was made
    (a subject's public `ref` made before its first public record told that a hidden record came
    first)."""
    while True:
        entropy = os.urandom(16 * 256)
        yield from (uuid.UUID(bytes=entropy[i : i + 16], version=4) for i in range(0, len(entropy), 16))


def new_id_texts(count: int) -> list[str]:
    """`count` new time-ordered UUIDs (version 7: the Unix time in milliseconds, then 74 random
    bits) in their text form, for rows inserted by the thousand (checks). Ids made at about the same
    time sit together in the primary key's index, so an insert touches its newest pages instead of
    a random page each (shorter commits: docs/benchmarks.md). One read of the OS's random source for
    all of them: `str(uuid.uuid4())` costs a system call and two constructors per id.
    """
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    prefix = f"{stamp[:8]}-{stamp[8:]}-7"
    digits = os.urandom(10 * count).hex()
    ids = []
    for start in range(0, 20 * count, 20):
        h = digits[start : start + 20]
        ids.append(f"{prefix}{h[:3]}-{_VARIANT_DIGIT[h[3]]}{h[4:7]}-{h[7:19]}")
    return ids


def after_position(at: Any, row_id: Any, position: tuple[Any, Any]) -> Any:
    """Rows after a (time, id) position in (time, id) order: how the time-ordered logs page (a cursor
    that stays right when many rows share an instant)."""
    moment, last_id = position
    return or_(at > moment, and_(at == moment, row_id > last_id))
