"""The questions other features ask of records, written once: what is in force on a day, as the
registry stood on a past day, and the counts the statistics need.

A record is *in force* on a day when it is active and the day lies in its publicity period
(国办发〔2025〕22号: publication stops by itself at the end of the period, whether or not the expiry
sweep has written it down yet). Checks, the public face and statistics read records only through
this module; they never select from the records tables themselves.
"""

import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Date, String, Text, and_, bindparam, cast, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload

from app.db import column_in
from app.kit.clock import end_of_day
from app.records import history
from app.records.models import Record, Subject

EXITED = ("repaired", "expired", "revoked", "exited")


def in_force(status: str, publicity_start: date, publicity_end: date | None, day: date) -> bool:
    """Active, and `day` within the publicity period (a court listing on the first ground of
    法释〔2017〕7号 has no end: it stays in force until it exits)."""
    return status == "active" and publicity_start <= day and (publicity_end is None or day <= publicity_end)


def in_force_clause(day: Any) -> Any:
    """The SQL form of in_force() over the records table; `day` a date or a bound parameter."""
    return and_(
        Record.status == "active",
        Record.publicity_start <= day,
        or_(Record.publicity_end.is_(None), Record.publicity_end >= day),
    )


def find_record(session: Session, record_id: uuid.UUID) -> Record | None:
    """A record with its subject and designating agency loaded."""
    return session.scalars(
        select(Record)
        .options(joinedload(Record.subject), joinedload(Record.agency))
        .where(Record.id == record_id)
    ).first()


def subject_id_of(session: Session, identifier: str) -> uuid.UUID | None:
    return session.scalar(select(Subject.id).where(Subject.identifier == identifier.strip().upper()))


# --- subjects with their records in force, by identifier (approvers' checks) -------------------------

# The row every reader below answers, by position: the subject, then one record in force (or Nones).
SUBJECT_COLUMNS = (Subject.id, Subject.kind, Subject.name, Subject.identifier_type, Subject.identifier)
RECORD_COLUMNS = (
    Record.id.label("record_id"),
    Record.agency_code,
    Record.domain_code,
    Record.list_type,
    Record.severity,
    Record.status,
    Record.decision_no,
    Record.decision_date,
    Record.publicity_end,
    Record.under_objection,
    Record.version,
    Record.visibility,
)
SUBJECT_WIDTH = len(SUBJECT_COLUMNS)


@lru_cache
def _in_force_query(single: bool, text_ids: bool = False) -> Any:
    """Subjects with their records in force on :day, built once (constructing the statement costs
    more than running it on a single check). `single`: one :identifier; else :identifiers.
    `text_ids` (PostgreSQL): ids as text, the form answers carry them in."""
    day = bindparam("day", type_=Date())
    subject_columns: tuple[Any, ...] = SUBJECT_COLUMNS
    record_columns: tuple[Any, ...] = RECORD_COLUMNS
    if text_ids:
        subject_columns = (cast(Subject.id, Text).label("id"), *SUBJECT_COLUMNS[1:])
        record_columns = (cast(Record.id, Text).label("record_id"), *RECORD_COLUMNS[1:])
    query = (
        select(*subject_columns, *record_columns)
        .select_from(Subject)
        .outerjoin(Record, and_(Record.subject_id == Subject.id, in_force_clause(day)))
        .order_by(Subject.identifier, Record.decision_date, Record.id)
    )
    if single:
        return query.where(Subject.identifier == bindparam("identifier"))
    if text_ids:  # PostgreSQL: one array, unnested into a semi-join (see app.db.column_in)
        identifiers = bindparam("identifiers", type_=ARRAY(String()))
        return query.where(Subject.identifier.in_(select(func.unnest(identifiers))))
    return query.where(Subject.identifier.in_(bindparam("identifiers", expanding=True)))


@lru_cache
def in_force_sql_for_psycopg() -> tuple[str, dict[str, Any]]:
    """The in-force read compiled once for psycopg: its SQL (parameters %(day)s and the
    %(identifiers)s array) and its parameters' defaults, for the event-loop path's own cursor."""
    compiled = _in_force_query(False, text_ids=True).compile(
        dialect=postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
    )
    return str(compiled), dict(compiled.params)


def read_in_force(connection: Connection, identifiers: list[str], day: date) -> list[tuple[Any, ...]]:
    """Rows of subjects by identifier with their records in force on `day`, in one query."""
    single = len(identifiers) == 1
    given = {"identifier": identifiers[0]} if single else {"identifiers": identifiers}
    if connection.dialect.name == "postgresql" and not single:
        sql, defaults = in_force_sql_for_psycopg()
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:  # plain tuples: SQLAlchemy's rows cost a batch more than its fetch
            cursor.execute(sql, defaults | given | {"day": day})
            return list(cursor.fetchall())
    return [tuple(row) for row in connection.execute(_in_force_query(single), given | {"day": day})]


def read_in_force_as_of(session: Session, identifiers: list[str], day: date) -> list[tuple[Any, ...]]:
    """As read_in_force, as the registry stood at the end of a past day (the audit log's snapshots)."""
    query = (
        select(*SUBJECT_COLUMNS, *RECORD_COLUMNS)
        .select_from(Subject)
        .outerjoin(
            Record,
            and_(Record.subject_id == Subject.id, Record.received_at < end_of_day(day)),
        )
        .where(column_in(session, Subject.identifier, identifiers))
        .order_by(Subject.identifier, Record.decision_date, Record.id)
    )
    rows = session.execute(query).all()
    states = history.snapshots_as_of(session, [row.record_id for row in rows if row.record_id], day)
    subjects: dict[Any, tuple[Any, ...]] = {}
    records: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        subjects.setdefault(row.id, tuple(row[:SUBJECT_WIDTH]))
        held = records.setdefault(row.id, [])
        state = states.get(row.record_id) if row.record_id else None
        if state is None:
            continue
        start = date.fromisoformat(state["publicity_start"])
        end = date.fromisoformat(state["publicity_end"]) if state["publicity_end"] else None
        if not in_force(state["status"], start, end, day):
            continue
        held.append(
            (
                row.record_id,
                row.agency_code,
                row.domain_code,
                state["list_type"],
                state["severity"],
                state["status"],
                state["decision_no"],
                date.fromisoformat(state["decision_date"]),
                end,
                bool(state["under_objection"]),
                int(state["version"]),
                state.get("visibility", row.visibility),
            )
        )
    empty = (None,) * len(RECORD_COLUMNS)
    return [
        (*subject, *record)
        for subject_id, subject in subjects.items()
        for record in (records[subject_id] or [empty])
    ]


def status_counts(connection: Connection) -> dict[str, int]:
    """Records by stored status, in one GROUP BY."""
    rows = connection.execute(select(Record.status, func.count()).group_by(Record.status))
    return {status: count for status, count in rows}


# --- statistics ------------------------------------------------------------------------------------


def listing_counts(
    session: Session, domains: set[str], since: datetime, until: datetime
) -> list[tuple[str, str, int, int]]:
    """(domain, agency, records received, of them late) for records received in [since, until)."""
    from sqlalchemy import case

    rows = session.execute(
        select(
            Record.domain_code,
            Record.agency_code,
            func.count(),
            func.sum(case((Record.late_disclosure.is_(True), 1), else_=0)),
        )
        .where(Record.domain_code.in_(domains), Record.received_at >= since, Record.received_at < until)
        .group_by(Record.domain_code, Record.agency_code)
    )
    return [(domain, agency, count, int(late or 0)) for domain, agency, count, late in rows]


def exit_counts(
    session: Session, domains: set[str], since: datetime, until: datetime
) -> list[tuple[str, str, str, int]]:
    """(domain, agency, status exited to, count) for records that exited in [since, until)."""
    rows = session.execute(
        select(Record.domain_code, Record.agency_code, Record.status, func.count())
        .where(Record.domain_code.in_(domains), Record.exited_at >= since, Record.exited_at < until)
        .group_by(Record.domain_code, Record.agency_code, Record.status)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def record_keys() -> Any:
    """A selectable of (id, domain_code, agency_code) for other features' reports to join their rows
    to the record they concern, without reading the records table themselves."""
    return select(Record.id, Record.domain_code, Record.agency_code).subquery("record_keys")
