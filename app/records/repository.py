"""The questions other features ask of records, written once: what is in force on a day, as the
registry stood on a past day, and the counts the statistics need.

A record is *in force* on a day when it is active and the day lies in its publicity period
(国办发〔2025〕22号: publication stops by itself at the end of the period, whether or not the expiry
sweep has written it down yet). Checks, the public face and statistics read records only through
this module; they never select from the records tables themselves.
"""

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    String,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from app.catalog import service as catalog
from app.db import column_in
from app.kit.clock import end_of_day
from app.kit.identifiers import minor_on, typed_code
from app.records import history
from app.records.models import Record, RecordParty, Subject

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


# What a record's answer shows of the people it names behind its subject.
WITH_PARTIES = selectinload(Record.parties).joinedload(RecordParty.subject)


def find_record(session: Session, record_id: uuid.UUID) -> Record | None:
    """A record with its subject and designating agency loaded."""
    return session.scalars(
        select(Record)
        .options(joinedload(Record.subject), joinedload(Record.agency), WITH_PARTIES)
        .where(Record.id == record_id)
    ).first()


def subject_id_of(session: Session, identifier: str) -> uuid.UUID | None:
    return session.scalar(select(Subject.id).where(Subject.identifier == identifier.strip().upper()))


def subject_ids_of(session: Session, identifiers: list[str]) -> dict[str, uuid.UUID]:
    """The subjects' ids of those identifiers (in their normal form) the registry knows."""
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(identifiers), 5000):
        chunk = identifiers[start : start + 5000]
        rows = session.execute(
            select(Subject.identifier, Subject.id).where(column_in(session, Subject.identifier, chunk))
        )
        found.update({identifier: subject_id for identifier, subject_id in rows})
    return found


def records_naming(session: Session, subject_id: uuid.UUID) -> list[tuple[RecordParty, Record]]:
    """The records that name a subject as a related party, with the party row, newest first."""
    rows = session.execute(
        select(RecordParty, Record)
        .join(Record, Record.id == RecordParty.record_id)
        .options(joinedload(Record.subject), joinedload(Record.agency))
        .where(RecordParty.subject_id == subject_id)
        .order_by(Record.received_at.desc())
    )
    return [(party, record) for party, record in rows.all()]


def restricted_records(session: Session, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Of these records, the restricted ones (visible in full to their own agency only): id -> agency."""
    rows = session.execute(
        select(Record.id, Record.agency_code).where(
            column_in(session, Record.id, record_ids), Record.visibility == "restricted"
        )
    )
    return {record_id: agency for record_id, agency in rows}


def identifiers_reached(session: Session, record_ids: list[str]) -> dict[str, set[str]]:
    """Whom each record bears on, by record id (text): its subject's identifier and those of the
    related parties it names (a record reaches the people behind an organisation through them)."""
    if not record_ids:
        return {}
    ids = [uuid.UUID(record_id) for record_id in record_ids]
    own = select(Record.id, Subject.identifier).join(Subject, Subject.id == Record.subject_id)
    parties = select(RecordParty.record_id, Subject.identifier).join(
        Subject, Subject.id == RecordParty.subject_id
    )
    # An identifier merged into a subject leads to it (app.records.merge): the record reaches it too.
    merged = aliased(Subject, name="merged")
    own_merged = select(Record.id, merged.identifier).join(merged, merged.merged_into == Record.subject_id)
    parties_merged = select(RecordParty.record_id, merged.identifier).join(
        merged, merged.merged_into == RecordParty.subject_id
    )
    reached: dict[str, set[str]] = {}
    for query, column in (
        (own, Record.id),
        (parties, RecordParty.record_id),
        (own_merged, Record.id),
        (parties_merged, RecordParty.record_id),
    ):
        for record_id, identifier in session.execute(query.where(column_in(session, column, ids))):
            reached.setdefault(str(record_id), set()).add(identifier)
    return reached


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


# After a record's columns, whom it reaches through: a related party's role, and the organisation
# (the record's own subject) — None for the subject's own records.
VIA_WIDTH = 3
_Organisation = aliased(Subject, name="organisation")
_VIA_COLUMNS = (RecordParty.role, _Organisation.identifier, _Organisation.name)


def _holder() -> Any:
    """The subject whose records a subject row stands for: itself, or the subject it was merged into
    (app.records.merge), so that a merged identifier leads to the surviving subject's records."""
    return func.coalesce(Subject.merged_into, Subject.id)


@lru_cache
def _in_force_query(single: bool, text_ids: bool = False) -> Any:
    """Subjects with their records in force on :day, built once (constructing the statement costs
    more than running it on a single check): each subject's own records, and the records of
    organisations that name it as a related party (legal representative, principal...), with its
    role and the organisation. `single`: one :identifier; else :identifiers. `text_ids`
    (PostgreSQL): ids as text, the form answers carry them in."""
    day = bindparam("day", type_=Date())
    subject_columns: tuple[Any, ...] = SUBJECT_COLUMNS
    record_columns: tuple[Any, ...] = RECORD_COLUMNS
    if text_ids:
        subject_columns = (cast(Subject.id, Text).label("id"), *SUBJECT_COLUMNS[1:])
        record_columns = (cast(Record.id, Text).label("record_id"), *RECORD_COLUMNS[1:])
    if single:
        wanted = Subject.identifier == bindparam("identifier")
    elif text_ids:  # PostgreSQL: one array, unnested into a semi-join (see app.db.column_in)
        wanted = Subject.identifier.in_(select(func.unnest(bindparam("identifiers", type_=ARRAY(String())))))
    else:
        wanted = Subject.identifier.in_(bindparam("identifiers", expanding=True))
    nothing = [cast(null(), String(200)).label(name) for name in ("via_role", "via_identifier", "via_name")]
    own = (
        select(*subject_columns, *record_columns, *nothing)
        .select_from(Subject)
        .outerjoin(Record, and_(Record.subject_id == _holder(), in_force_clause(day)))
        .where(wanted)
    )
    through = (
        select(
            *subject_columns,
            *record_columns,
            RecordParty.role.label("via_role"),
            _Organisation.identifier.label("via_identifier"),
            _Organisation.name.label("via_name"),
        )
        .select_from(Subject)
        .join(RecordParty, RecordParty.subject_id == _holder())
        .join(Record, and_(Record.id == RecordParty.record_id, in_force_clause(day)))
        .join(_Organisation, _Organisation.id == Record.subject_id)
        .where(wanted)
    )
    return union_all(own, through)


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
            # Never prepared: planned for these identifiers (1 to 5,000 of them), not with a generic
            # plan kept from other statistics (app.checks.store says what one did).
            cursor.execute(sql, defaults | given | {"day": day}, prepare=False)
            return list(cursor.fetchall())
    return [tuple(row) for row in connection.execute(_in_force_query(single), given | {"day": day})]


def read_in_force_as_of(session: Session, identifiers: list[str], day: date) -> list[tuple[Any, ...]]:
    """As read_in_force, as the registry stood at the end of a past day (the audit log's snapshots)."""
    received = Record.received_at < end_of_day(day)
    wanted = column_in(session, Subject.identifier, identifiers)
    own = (
        select(*SUBJECT_COLUMNS, *RECORD_COLUMNS)
        .select_from(Subject)
        .outerjoin(Record, and_(Record.subject_id == _holder(), received))
        .where(wanted)
    )
    through = (
        select(
            *SUBJECT_COLUMNS, *RECORD_COLUMNS, RecordParty.role, _Organisation.identifier, _Organisation.name
        )
        .select_from(Subject)
        .join(RecordParty, RecordParty.subject_id == _holder())
        .join(Record, and_(Record.id == RecordParty.record_id, received))
        .join(_Organisation, _Organisation.id == Record.subject_id)
        .where(wanted)
    )
    none = (None,) * VIA_WIDTH
    rows = [(*row, *none) for row in session.execute(own)] + [tuple(row) for row in session.execute(through)]
    record_at = SUBJECT_WIDTH
    states = history.snapshots_as_of(session, [row[record_at] for row in rows if row[record_at]], day)
    subjects: dict[Any, tuple[Any, ...]] = {}
    records: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        subjects.setdefault(row[0], tuple(row[:SUBJECT_WIDTH]))
        held = records.setdefault(row[0], [])
        state = states.get(row[record_at]) if row[record_at] else None
        if state is None:
            continue
        start = date.fromisoformat(state["publicity_start"])
        end = date.fromisoformat(state["publicity_end"]) if state["publicity_end"] else None
        if not in_force(state["status"], start, end, day):
            continue
        record = row[record_at : record_at + len(RECORD_COLUMNS)]
        held.append(
            (
                record[0],
                record[1],
                record[2],
                state["list_type"],
                state["severity"],
                state["status"],
                state["decision_no"],
                date.fromisoformat(state["decision_date"]),
                end,
                bool(state["under_objection"]),
                int(state["version"]),
                state.get("visibility", record[11]),
                *row[record_at + len(RECORD_COLUMNS) :],
            )
        )
    empty = (None,) * (len(RECORD_COLUMNS) + VIA_WIDTH)
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


# --- in public force (the public face) ------------------------------------------------------------

PUBLIC_LISTS = ("black", "red")
_Blocking = aliased(Record, name="blocking")


def not_personal() -> Any:
    """Subjects the public may look up by identifier: not persons, nor an individual business under
    its owner's identity number. A hit on a person's number would confirm a guess (API.md, Second
    release); persons are opened by ref."""
    return and_(Subject.kind != "natural_person", Subject.identifier_type != "resident_id")


def record_in_public_force(session: Session, record_id: uuid.UUID, today: date) -> bool:
    """Whether the public sees this record today (in_public_force, and not about a minor then)."""
    row = session.execute(
        select(Subject.birth_date, Record.decision_date)
        .select_from(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.id == record_id, in_public_force(today))
    ).first()
    return row is not None and not (
        row.birth_date is not None and minor_on(row.birth_date, row.decision_date)
    )


def in_public_force(today: Any) -> Any:
    """The SQL half of "in public force" over records joined to their subject (the minors rule needs
    the subject's birth date against each decision date, and is applied by the caller).

    In force and `public`; on the black or red list (a minor lapse only where its agency chose to
    publish it: shared by default, at most 3 months, 国办发〔2025〕22号; DOMAIN.md, publicity
    periods); a natural person's record only in a domain whose rule publishes
    persons (国办发〔2020〕49号: lawful and necessary; court listings by 法释〔2017〕7号 第七条); a red
    record not while a black record of the subject is in force (its incentives are suspended too),
    whatever that black record's visibility: the registry never holds out as trustworthy an entity
    it knows to be listed for dishonesty. That the red listing left the public view says no more
    than that it ended, as it does when it expires or is revoked; the black record stays unshown.
    """
    return and_(
        in_force_clause(today),
        Record.visibility == "public",
        # Spelled out rather than IN (...): the statement compiles once, without expanding parameters.
        or_(*(Record.list_type == list_type for list_type in PUBLIC_LISTS)),
        or_(not_personal(), Record.domain_code.in_(catalog.persons_public_domains())),
        or_(
            Record.list_type != "red",
            ~exists().where(
                _Blocking.subject_id == Record.subject_id,
                _Blocking.list_type == "black",
                _Blocking.status == "active",
                _Blocking.publicity_start <= today,
                or_(_Blocking.publicity_end.is_(None), _Blocking.publicity_end >= today),
            ),
        ),
    )


def has_public_record(subject_id: Any, today: Any) -> Any:
    """EXISTS a record of `subject_id` (a column or value) in public force."""
    return exists(
        select(Record.id)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.subject_id == subject_id, in_public_force(today))
    )


# A record's related parties as the public sees them (app.public.view masks them): an organisation
# always, a person only where the domain's rule publishes natural persons (国办发〔2020〕49号: lawful
# and necessary; court listings by 法释〔2017〕7号 第六条、第七条), as for the person's own records.
_PARTY = Subject.__table__.alias("party")
PUBLIC_PARTY_COLUMNS = (
    RecordParty.role.label("party_role"),
    RecordParty.name.label("party_name"),
    _PARTY.c.kind.label("party_kind"),
    _PARTY.c.identifier_type.label("party_identifier_type"),
    _PARTY.c.identifier.label("party_identifier"),
    _PARTY.c.birth_date.label("party_birth_date"),
)


def _party_public() -> Any:
    return or_(
        and_(_PARTY.c.kind != "natural_person", _PARTY.c.identifier_type != "resident_id"),
        Record.domain_code.in_(catalog.persons_public_domains()),
    )


def has_record_in_force(subject_id: Any, today: Any) -> Any:
    """EXISTS a record in force (any visibility) of `subject_id`, or of an organisation naming it as a
    related party: whom an approver's screening by name may find (app.screening)."""
    return or_(
        exists(select(Record.id).where(Record.subject_id == subject_id, in_force_clause(today))),
        exists(
            select(RecordParty.record_id)
            .join(Record, Record.id == RecordParty.record_id)
            .where(RecordParty.subject_id == subject_id, in_force_clause(today))
        ),
    )


def _public_lookup(where: Any) -> Any:
    """One round trip: the subject and every record of it in public force (names of agencies and
    domains come from the catalog, by code)."""
    joined = Subject.__table__.outerjoin(
        Record.__table__,
        and_(Record.subject_id == _holder(), in_public_force(bindparam("today", type_=Date()))),
    ).outerjoin(
        RecordParty.__table__.join(_PARTY, _PARTY.c.id == RecordParty.subject_id),
        and_(RecordParty.record_id == Record.id, _party_public()),
    )
    return (
        select(
            Subject.id,
            Subject.identifier,
            Subject.identifier_type,
            Subject.kind,
            Subject.birth_date,
            Record.id.label("record_id"),
            Record.domain_code,
            Record.list_type,
            Record.severity,
            Record.conduct,
            Record.decision_no,
            Record.decision_date,
            Record.legal_basis,
            Record.publicity_start,
            Record.publicity_end,
            Record.under_objection,
            Record.late_disclosure,
            Record.agency_code,
            Record.subject_name,
            Record.received_at,
            Record.listing_basis,
            Record.performance,
            *PUBLIC_PARTY_COLUMNS,
        )
        .select_from(joined)
        .where(where)
        .order_by(Record.list_type, Record.decision_date.desc(), Record.id, RecordParty.role, _PARTY.c.name)
    )


PUBLIC_BY_IDENTIFIER = _public_lookup(
    and_(Subject.identifier == bindparam("identifier", type_=Subject.identifier.type), not_personal())
)
PUBLIC_BY_REF = _public_lookup(Subject.id == bindparam("ref", type_=Subject.id.type))


def public_lookup(key: str) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters for an organisation's full identifier or a subject reference."""
    try:
        return PUBLIC_BY_REF, {"ref": uuid.UUID(key)}
    except ValueError:
        # Read as the special report and the search read a code (spaces, case, full width).
        return PUBLIC_BY_IDENTIFIER, {"identifier": typed_code(key)}


def public_records_of(
    connection: Connection, subject_ids: list[uuid.UUID], today: date
) -> list[tuple[Any, ...]]:
    """(subject id, decision date, received at, name on the record, list, birth date, kind,
    identifier type, identifier) of every record in public force of these subjects."""
    if not subject_ids:
        return []
    rows = connection.execute(
        select(
            Record.subject_id,
            Record.decision_date,
            Record.received_at,
            Record.subject_name,
            Record.list_type,
            Subject.birth_date,
            Subject.kind,
            Subject.identifier_type,
            Subject.identifier,
        )
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.subject_id.in_(subject_ids), in_public_force(today))
    )
    return [tuple(row) for row in rows]


def public_record_row(connection: Connection, record_id: uuid.UUID, today: date) -> tuple[Any, ...] | None:
    """(id, list, conduct, decision no, decision date, publicity end, under objection, domain,
    agency, subject id, name on the record, kind, identifier type, identifier, birth date) of one
    record in public force (the repair and objection forms)."""
    row = connection.execute(
        select(
            Record.id,
            Record.list_type,
            Record.conduct,
            Record.decision_no,
            Record.decision_date,
            Record.publicity_end,
            Record.under_objection,
            Record.domain_code,
            Record.agency_code,
            Subject.id,
            Record.subject_name,  # this record's own: not what another agency pushed since
            Subject.kind,
            Subject.identifier_type,
            Subject.identifier,
            Subject.birth_date,
        )
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.id == record_id, in_public_force(today))
    ).first()
    return None if row is None else tuple(row)


def organisation_by_identifier(connection: Connection, identifier: str) -> uuid.UUID | None:
    """An organisation's subject id by its identifier (never a person's: see not_personal); a code
    merged into another subject leads to that subject (app.records.merge)."""
    return connection.execute(
        select(_holder()).where(Subject.identifier == identifier, not_personal())
    ).scalar()


# --- the daily extract (app.exchange) ---------------------------------------------------------------

# What an extract line carries of a record, beyond its subject: the listing as the government view
# shows it (API.md, Records), without the registry's own bookkeeping (content hash, calendar notes).
EXTRACT_FIELDS = (
    "id",
    "external_id",
    "agency_code",
    "domain_code",
    "list_type",
    "severity",
    "subject_name",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_start",
    "publicity_end",
    "visibility",
    "listing_basis",
    "performance",
    "under_objection",
    "version",
    "received_at",
)
# Of those, what a change can alter (the rest is fixed when the record is received); the record's
# history snapshots carry each of them (app.records.history).
_CHANGING_FIELDS = (
    "severity",
    "subject_name",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_start",
    "publicity_end",
    "visibility",
    "performance",
    "under_objection",
    "version",
)
_DATE_FIELDS = ("decision_date", "publicity_start", "publicity_end")


# Exits after which a record is no longer shared even as it stood before: the listing was unlawful
# (revoked), its repair stops the sharing, or its agency ended it (a court deletes a debtor's listing
# once the debt is performed: 法释〔2017〕7号 第十条).
WITHDRAWN_FROM_SHARING = ("revoked", "repaired", "exited")


def records_in_force_for_extract(
    session: Session, day: date, visibilities: tuple[str, ...], batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Every record in force on `day` as the registry stood at the end of that day (China time), of
    the given visibilities, in id order: EXTRACT_FIELDS and the subject's kind, identifier type and
    identifier, one record at a time.

    Streamed, `batch` rows at a time (a server-side cursor on PostgreSQL): never the whole set in
    memory. A record changed since the end of the day is taken as its history had it then (the audit
    log's snapshot), so an extract made days late describes its day all the same; the others are
    read as they are, which they were then. Except what may no longer be shared at all: a record
    revoked, repaired or ended by its agency since, or no longer of the visibilities shared, is left
    out of an extract made after (DOMAIN.md: it leaves every sharing view at once; NDRC Order No. 36:
    a repair stops the sharing). One whose period ran out since is still told as it stood: its day
    in force was lawful, and the next delta removes it.
    """
    cutoff = end_of_day(day)
    columns = [getattr(Record, name) for name in EXTRACT_FIELDS]
    query = (
        select(
            *columns,
            Record.status,
            Record.updated_at,
            Subject.kind,
            Subject.identifier_type,
            Subject.identifier,
        )
        .join(Subject, Subject.id == Record.subject_id)
        .where(
            Record.received_at < cutoff,
            or_(Record.updated_at >= cutoff, and_(in_force_clause(day), Record.visibility.in_(visibilities))),
        )
        .order_by(Record.id)
        .execution_options(yield_per=batch)
    )
    # Core rather than the ORM's loading: a fraction of the cost per row, which millions notice.
    result = session.connection().execute(query)
    names = list(result.keys())
    for rows in result.partitions():
        changed = [row.id for row in rows if row.updated_at >= cutoff]
        states = history.snapshots_as_of(session, changed, day)
        for row in rows:
            values = dict(zip(names, row, strict=True))
            if row.updated_at >= cutoff:
                if row.status in WITHDRAWN_FROM_SHARING or row.visibility not in visibilities:
                    continue
                state = states.get(row.id)
                if state is None:  # its first event came after the day (received at midnight)
                    continue
                values |= {name: state.get(name, values[name]) for name in _CHANGING_FIELDS}
                for name in _DATE_FIELDS:  # the log keeps dates as ISO text
                    if isinstance(values[name], str):
                        values[name] = date.fromisoformat(values[name])
                values["status"] = state["status"]
                if not (
                    in_force(values["status"], values["publicity_start"], values["publicity_end"], day)
                    and values["visibility"] in visibilities
                ):
                    continue
            del values["status"], values["updated_at"]
            yield values


# --- screening by name (app.screening) ---------------------------------------------------------------


def subjects_by_ids(connection: Connection, subject_ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """(id, kind, current name, identifier type, identifier, birth date) of these subjects."""
    if not subject_ids:
        return []
    rows = connection.execute(
        select(
            Subject.id,
            Subject.kind,
            Subject.name,
            Subject.identifier_type,
            Subject.identifier,
            Subject.birth_date,
        ).where(Subject.id.in_(subject_ids))
    )
    return [tuple(row) for row in rows]


def special_report_rows(connection: Connection, identifier: str, today: date) -> list[Any]:
    """The records a special report (信用代证) lists for an organisation: every record in public
    force, whenever it was decided (a listing decided before the period and still published is the
    report's very subject: "no record in force" beside it would certify a listed entity clean).
    Repaired, expired and revoked records are not listed: a repair stops the publication (NDRC Order
    No. 36; DOMAIN.md: an exited record leaves every public view at once), and a report that kept a
    repaired record for years would treat the subject that repaired worse than one whose record
    simply ran out.

    Rows: (record id, domain, list, severity, conduct, decision no, decision date, legal basis,
    publicity start, publicity end, under objection, agency, name on the record, received at,
    status, exited at, subject id, subject kind, listing basis, performance)."""
    return list(
        connection.execute(
            select(
                Record.id,
                Record.domain_code,
                Record.list_type,
                Record.severity,
                Record.conduct,
                Record.decision_no,
                Record.decision_date,
                Record.legal_basis,
                Record.publicity_start,
                Record.publicity_end,
                Record.under_objection,
                Record.agency_code,
                Record.subject_name,
                Record.received_at,
                Record.status,
                Record.exited_at,
                Subject.id,
                Subject.kind,
                Record.listing_basis,
                Record.performance,
            )
            # A code merged into another subject leads to its records (app.records.merge): never a
            # clean certificate for a code whose entity is listed under the code it was merged into.
            .join(Subject, _holder() == Record.subject_id)
            .where(
                Subject.identifier == identifier,
                not_personal(),
                in_public_force(today),
            )
            .order_by(Record.domain_code, Record.decision_date.desc(), Record.id)
        )
    )
