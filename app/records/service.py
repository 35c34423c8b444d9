"""Ingesting, correcting and revoking records; reading them back; the change feed.

Pushes are validated item by item in Python and written in set operations: one query to find what
exists, one multi-row insert per table, one audit append for the whole batch, all in the request's
transaction.
"""

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog import service as catalog
from app.db import bulk_insert, column_in
from app.errors import (
    ExternalIdConflict,
    Forbidden,
    MinorSubject,
    NotFound,
    RecordNotActive,
    RegistryError,
    ValidationFailed,
    VersionConflict,
    pydantic_fields,
)
from app.kit.clock import china_date, china_today, utcnow
from app.kit.identifiers import age_on, resident_id_birth_date
from app.kit.workdays import CalendarUnknown, WorkdayCalendar
from app.records import history, search_index
from app.records.models import PublicityOverride, Record, Subject
from app.records.publicity import PublicityPolicy, PublicityRules
from app.records.schemas import RecordIn, RecordPatch, RevokeIn

# 文明委〔2020〕6号 and the 7-day rule for publishing licensing and penalty decisions (双公示).
DISCLOSURE_WORKDAYS = 7
ADULT_AGE = 18
EXITED = ("repaired", "expired", "revoked")


@dataclass
class IngestContext:
    agency_code: str
    actor: str
    today: date
    now: datetime
    domains: set[str]
    agency_domains: set[str]
    calendar: WorkdayCalendar
    publicity: PublicityRules
    # decision_date -> the last day a push counts as timely, memoized across a batch
    disclosure_deadlines: dict[date, date] = field(default_factory=dict)


def ingest_context(session: Session, principal: Principal) -> IngestContext:
    return IngestContext(
        agency_code=principal.agency_code,
        actor=principal.actor,
        today=china_today(),
        now=utcnow(),
        domains=catalog.domain_codes(session),
        agency_domains=catalog.agency_domains(session, principal.agency_code),
        calendar=catalog.workday_calendar(session),
        publicity=publicity_rules(session),
    )


def publicity_rules(session: Session) -> PublicityRules:
    overrides = {
        (row.domain_code, row.severity): PublicityPolicy(
            row.shortest_months, row.default_months, row.longest_months, row.repair_after_months
        )
        for row in session.scalars(select(PublicityOverride))
    }
    return PublicityRules(overrides)


@dataclass(frozen=True)
class Resolved:
    """A valid push with everything the registry derives from it."""

    item: RecordIn
    publicity_end: date
    visibility: str
    status: str
    late_disclosure: bool | None
    calendar_note: str | None
    birth_date: date | None
    content_hash: str


def resolve(item: RecordIn, ctx: IngestContext, received_on: date) -> Resolved:
    """Apply the listing rules to one record; raises the RegistryError that says what is wrong."""
    if item.domain not in ctx.domains:
        raise ValidationFailed.one(
            "domain", f"unknown domain {item.domain!r}; the codes are listed at /v1/domains"
        )
    if item.domain not in ctx.agency_domains:
        raise Forbidden(f"agency {ctx.agency_code} holds no role in domain {item.domain} under any plan")
    if item.decision_date > ctx.today:
        raise ValidationFailed.one(
            "decision_date", f"{item.decision_date} is in the future (today is {ctx.today})"
        )

    birth_date = None
    if item.subject.identifier_type == "resident_id":
        birth_date = resident_id_birth_date(item.subject.identifier)  # already validated
        # Minors may not be blacklisted (法释〔2017〕7号; the seed plans ask for education instead).
        if item.list_type in ("black", "focus") and age_on(birth_date, item.decision_date) < ADULT_AGE:
            raise MinorSubject(
                f"the subject was under {ADULT_AGE} on the decision date {item.decision_date}; "
                "minors may not be put on a black or focus list"
            )

    policy = ctx.publicity.policy_for(item.domain, item.severity)
    publicity_end = item.publicity_end or policy.default_end(item.decision_date)
    earliest, latest = policy.bounds(item.decision_date)
    earliest = max(earliest, item.decision_date + timedelta(days=1))
    if not earliest <= publicity_end <= latest:
        raise ValidationFailed.one(
            "publicity_end",
            f"a {item.severity} record in {item.domain} decided on {item.decision_date} is published "
            f"until a day between {earliest} and {latest}",
        )
    # 国办发〔2025〕22号: minor lapses are not published unless the agency decides to.
    visibility = item.visibility or ("shared" if item.severity == "minor" else "public")
    # Historical backfill: a period already over is stored as exited.
    status = "expired" if publicity_end < ctx.today else "active"
    late, note = _late_disclosure(ctx, item.decision_date, received_on)

    effective = item.model_dump(mode="json") | {
        "publicity_end": publicity_end.isoformat(),
        "visibility": visibility,
    }
    content_hash = hashlib.sha256(audit.canonical_json(effective).encode()).hexdigest()
    return Resolved(item, publicity_end, visibility, status, late, note, birth_date, content_hash)


def _late_disclosure(
    ctx: IngestContext, decision_date: date, received_on: date
) -> tuple[bool | None, str | None]:
    # Seven working days span at least seven calendar days: no calendar needed inside that.
    if (received_on - decision_date).days <= DISCLOSURE_WORKDAYS:
        return False, None
    try:
        deadline = ctx.disclosure_deadlines.get(decision_date)
        if deadline is None:
            deadline = ctx.calendar.add_workdays(decision_date, DISCLOSURE_WORKDAYS)
            ctx.disclosure_deadlines[decision_date] = deadline
    except CalendarUnknown as exc:
        return None, f"timeliness unknown: {exc}"
    return received_on > deadline, None


@dataclass
class Outcome:
    index: int
    status: str  # created | unchanged | error
    id: uuid.UUID | None = None
    error: RegistryError | None = None


@dataclass
class _SubjectState:
    id: uuid.UUID
    identifier_type: str
    name: str


def ingest(session: Session, principal: Principal, raw_items: list[Any]) -> list[Outcome]:
    """Store every valid item; report each bad one by index. Retried pushes are recognized."""
    ctx = ingest_context(session, principal)
    received_on = china_date(ctx.now)
    outcomes: dict[int, Outcome] = {}
    valid: list[tuple[int, Resolved]] = []
    for index, raw in enumerate(raw_items):
        try:
            item = raw if isinstance(raw, RecordIn) else RecordIn.model_validate(raw)
            valid.append((index, resolve(item, ctx, received_on)))
        except ValidationError as exc:
            outcomes[index] = Outcome(index, "error", error=ValidationFailed(pydantic_fields(exc.errors())))
        except RegistryError as exc:
            outcomes[index] = Outcome(index, "error", error=exc)

    known = _existing_by_external_id(session, ctx.agency_code, [r.item.external_id for _, r in valid])
    subjects = _subjects_by_identifier(session, {r.item.subject.identifier for _, r in valid})
    new_subjects: list[dict[str, Any]] = []
    renamed: dict[uuid.UUID, str] = {}
    records: list[dict[str, Any]] = []
    for index, resolved in valid:
        item = resolved.item
        prior = known.get(item.external_id)
        if prior is not None:
            prior_id, prior_hash = prior
            if prior_hash == resolved.content_hash:
                outcomes[index] = Outcome(index, "unchanged", id=prior_id)
            else:
                outcomes[index] = Outcome(
                    index,
                    "error",
                    error=ExternalIdConflict(
                        f"external_id {item.external_id!r} was already pushed by this agency with "
                        f"different content (record {prior_id}); correct it with PATCH /v1/records/{prior_id}"
                    ),
                )
            continue
        subject = subjects.get(item.subject.identifier)
        record_id = uuid.uuid4()
        if subject is None:
            subject = _SubjectState(uuid.uuid4(), item.subject.identifier_type, item.subject.name)
            subjects[item.subject.identifier] = subject
            new_subjects.append(
                {
                    "id": subject.id,
                    "identifier": item.subject.identifier,
                    "identifier_type": item.subject.identifier_type,
                    "kind": item.subject.kind,
                    "name": item.subject.name,
                    "birth_date": resolved.birth_date,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
        elif subject.identifier_type != item.subject.identifier_type:
            outcomes[index] = Outcome(
                index,
                "error",
                error=ValidationFailed.one(
                    "subject.identifier_type",
                    f"identifier {item.subject.identifier} is registered as {subject.identifier_type}",
                ),
            )
            continue
        elif subject.name != item.subject.name:
            # A new name for a known identifier: the subject takes it; the earlier records keep the
            # names they were pushed under, which are the subject's name history.
            subject.name = item.subject.name
            renamed[subject.id] = item.subject.name
        records.append(_record_row(record_id, subject.id, resolved, ctx))
        known[item.external_id] = (record_id, resolved.content_hash)
        outcomes[index] = Outcome(index, "created", id=record_id)

    if new_subjects:
        bulk_insert(session, Subject, new_subjects)
        # Findable by the public search from the moment the subject exists (same transaction).
        search_index.index_names(
            session, [(row["id"], row["name"]) for row in new_subjects], new_subjects=True
        )
    if renamed:
        session.execute(
            update(Subject),
            [{"id": sid, "name": name, "updated_at": ctx.now} for sid, name in renamed.items()],
        )
        search_index.index_names(session, list(renamed.items()))
    if records:
        bulk_insert(session, Record, records)
        audit.append(
            session,
            ctx.actor,
            [audit.Event("record.created", "record", str(r["id"]), snapshot(r)) for r in records],
        )
    return [outcomes[index] for index in range(len(raw_items))]


def _record_row(
    record_id: uuid.UUID, subject_id: uuid.UUID, resolved: Resolved, ctx: IngestContext
) -> dict[str, Any]:
    item = resolved.item
    return {
        "id": record_id,
        "agency_code": ctx.agency_code,
        "external_id": item.external_id,
        "domain_code": item.domain,
        "list_type": item.list_type,
        "severity": item.severity,
        "subject_id": subject_id,
        "subject_name": item.subject.name,
        "conduct": item.conduct,
        "decision_no": item.decision_no,
        "decision_date": item.decision_date,
        "legal_basis": item.legal_basis,
        "publicity_start": item.decision_date,
        "publicity_end": resolved.publicity_end,
        "visibility": resolved.visibility,
        "status": resolved.status,
        "version": 1,
        "under_objection": False,
        "late_disclosure": resolved.late_disclosure,
        "calendar_note": resolved.calendar_note,
        "received_at": ctx.now,
        "updated_at": ctx.now,
        "exited_at": ctx.now if resolved.status == "expired" else None,
        "exit_reason": "publicity period already over when received"
        if resolved.status == "expired"
        else None,
        "exit_decision_no": None,
        "content_hash": resolved.content_hash,
    }


_SNAPSHOT_FIELDS = (
    "agency_code",
    "external_id",
    "domain_code",
    "list_type",
    "severity",
    "subject_id",
    "subject_name",
    "conduct",
    "decision_no",
    "decision_date",
    "legal_basis",
    "publicity_start",
    "publicity_end",
    "visibility",
    "status",
    "version",
    "under_objection",
    "late_disclosure",
    "exit_reason",
    "exit_decision_no",
)


def snapshot(row: dict[str, Any] | Record) -> dict[str, Any]:
    """The state of a record that the audit log and the change feed carry with each event."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {name: get(name) for name in _SNAPSHOT_FIELDS}


def _existing_by_external_id(
    session: Session, agency_code: str, external_ids: list[str]
) -> dict[str, tuple[uuid.UUID, str]]:
    found: dict[str, tuple[uuid.UUID, str]] = {}
    unique = sorted(set(external_ids))
    for start in range(0, len(unique), 5000):
        chunk = unique[start : start + 5000]
        rows = session.execute(
            select(Record.external_id, Record.id, Record.content_hash).where(
                Record.agency_code == agency_code, column_in(session, Record.external_id, chunk)
            )
        )
        found.update({row.external_id: (row.id, row.content_hash) for row in rows})
    return found


def _subjects_by_identifier(session: Session, identifiers: set[str]) -> dict[str, _SubjectState]:
    found: dict[str, _SubjectState] = {}
    unique = sorted(identifiers)
    for start in range(0, len(unique), 5000):
        chunk = unique[start : start + 5000]
        rows = session.execute(
            select(Subject.identifier, Subject.id, Subject.identifier_type, Subject.name).where(
                column_in(session, Subject.identifier, chunk)
            )
        )
        found.update({row.identifier: _SubjectState(row.id, row.identifier_type, row.name) for row in rows})
    return found


# --- reading -------------------------------------------------------------------------------------


def _may_see(principal: Principal, record: Record) -> bool:
    # Restricted records are for their designating agency (and administrators) only.
    return (
        record.visibility != "restricted"
        or record.agency_code == principal.agency_code
        or principal.has(Scope.admin)
    )


def find_record(session: Session, record_id: uuid.UUID) -> Record | None:
    return session.scalars(
        select(Record)
        .options(joinedload(Record.subject), joinedload(Record.agency))
        .where(Record.id == record_id)
    ).first()


def get_record(session: Session, principal: Principal, record_id: uuid.UUID) -> Record:
    record = find_record(session, record_id)
    if record is None or not _may_see(principal, record):
        raise NotFound(f"no record {record_id}")
    return record


def _own_record(session: Session, principal: Principal, record_id: uuid.UUID) -> Record:
    record = get_record(session, principal, record_id)
    if record.agency_code != principal.agency_code:
        raise Forbidden(
            f"record {record_id} was designated by {record.agency_code}; only that agency may change it"
        )
    return record


def patch_record(
    session: Session, principal: Principal, record_id: uuid.UUID, patch: RecordPatch, expected_version: int
) -> Record:
    record = _own_record(session, principal, record_id)
    if record.version != expected_version:
        raise VersionConflict(f"record {record_id} is at version {record.version}, not {expected_version}")
    return correct_record(session, principal, record, patch, "record.updated")


def correct_record(
    session: Session, principal: Principal, record: Record, patch: RecordPatch, event: str
) -> Record:
    """Apply a correction with the listing rules checked again; the earlier state stays in the history."""
    if record.status != "active":
        raise RecordNotActive(
            f"record {record.id} has exited ({record.status}) and can no longer be corrected"
        )
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise ValidationFailed.one("body", "name at least one field to change")
    current = _as_record_in(record)
    if "publicity_end" not in changes and ({"severity", "decision_date"} & changes.keys()):
        current["publicity_end"] = None  # the default follows the new severity or date
    try:
        item = RecordIn.model_validate(current | changes)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_fields(exc.errors())) from None
    ctx = ingest_context(session, principal)
    resolved = resolve(item, ctx, china_date(record.received_at))
    values = {
        "severity": item.severity,
        "conduct": item.conduct,
        "decision_no": item.decision_no,
        "decision_date": item.decision_date,
        "publicity_start": item.decision_date,
        "legal_basis": item.legal_basis,
        "publicity_end": resolved.publicity_end,
        "visibility": resolved.visibility,
        "status": resolved.status,
        "late_disclosure": resolved.late_disclosure,
        "calendar_note": resolved.calendar_note,
        "content_hash": resolved.content_hash,
    }
    if resolved.status == "expired":
        values |= {"exited_at": ctx.now, "exit_reason": "publicity period over after correction"}
    return change_record(session, record, values, ctx.actor, event)


def revoke_record(session: Session, principal: Principal, record_id: uuid.UUID, body: RevokeIn) -> Record:
    record = _own_record(session, principal, record_id)
    return exit_record(
        session, record, "revoked", body.reason, body.decision_no, principal.actor, "record.revoked"
    )


def exit_record(
    session: Session,
    record: Record,
    status: str,
    reason: str,
    decision_no: str | None,
    actor: str,
    event: str,
) -> Record:
    """Take a record out of every public view, sharing answer and check: revoked or repaired."""
    if record.status in ("revoked", "repaired"):
        raise RecordNotActive(f"record {record.id} is already {record.status}")
    values = {"status": status, "exited_at": utcnow(), "exit_reason": reason, "exit_decision_no": decision_no}
    return change_record(session, record, values, actor, event)


def set_under_objection(session: Session, record: Record, flag: bool, actor: str, event: str) -> Record:
    return change_record(session, record, {"under_objection": flag}, actor, event)


def note_event(session: Session, record: Record, actor: str, event: str, **details: Any) -> None:
    """An event in the record's history that leaves the record as it is (a repair applied, ...)."""
    audit.append(session, actor, [audit.Event(event, "record", str(record.id), snapshot(record) | details)])


def change_record(session: Session, record: Record, values: dict[str, Any], actor: str, event: str) -> Record:
    """The one way a stored record changes: a new version, guarded, with its audit event."""
    values = values | {"version": record.version + 1, "updated_at": utcnow()}
    update_versioned(session, record, values, record.version)
    audit.append(session, actor, [audit.Event(event, "record", str(record.id), snapshot(record))])
    return record


def update_versioned(session: Session, record: Record, values: dict[str, Any], expected_version: int) -> None:
    # The WHERE on version makes a concurrent change lose cleanly instead of overwriting.
    result = session.execute(
        update(Record)
        .where(Record.id == record.id, Record.version == expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise VersionConflict(f"record {record.id} was changed by someone else meanwhile")
    for name, value in values.items():
        setattr(record, name, value)


def _as_record_in(record: Record) -> dict[str, Any]:
    return {
        "external_id": record.external_id,
        "domain": record.domain_code,
        "list_type": record.list_type,
        "severity": record.severity,
        "subject": {
            "kind": record.subject.kind,
            "name": record.subject_name,
            "identifier_type": record.subject.identifier_type,
            "identifier": record.subject.identifier,
        },
        "conduct": record.conduct,
        "decision_no": record.decision_no,
        "decision_date": record.decision_date,
        "legal_basis": record.legal_basis,
        "publicity_end": record.publicity_end,
        "visibility": record.visibility,
    }


def subject_with_records(
    session: Session, principal: Principal, identifier: str, as_of: date | None = None
) -> tuple[Subject, list[str], list[dict[str, Any]]]:
    """The government view of a subject: every record it may see, now or as the registry stood `as_of`."""
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier.strip().upper())).first()
    if subject is None:
        raise NotFound(f"no subject with identifier {identifier}")
    query = select(Record).options(joinedload(Record.agency)).where(Record.subject_id == subject.id)
    if as_of is not None:
        query = query.where(Record.received_at < history.end_of_day(as_of))
    records = session.scalars(query.order_by(Record.decision_date.desc(), Record.received_at.desc())).all()
    # Every name the subject was pushed under, first seen first: each record keeps its agency's spelling.
    names = session.scalars(
        select(Record.subject_name).where(Record.subject_id == subject.id).order_by(Record.received_at)
    ).all()
    for record in records:
        record.subject = subject
    visible = [record for record in records if _may_see(principal, record)]
    if as_of is None:
        views = [record_out(record) for record in visible]
    else:
        states = history.snapshots_as_of(session, [record.id for record in visible], as_of)
        views = [record_out_as_of(record, states[record.id]) for record in visible if record.id in states]
    return subject, list(dict.fromkeys(names)), views


# Snapshot field -> RecordOut field, for answers "as of" a past day.
_AS_OF_FIELDS = {
    "severity": "severity",
    "conduct": "conduct",
    "decision_no": "decision_no",
    "decision_date": "decision_date",
    "legal_basis": "legal_basis",
    "publicity_start": "publicity_start",
    "publicity_end": "publicity_end",
    "visibility": "visibility",
    "status": "status",
    "version": "version",
    "under_objection": "under_objection",
    "late_disclosure": "late_disclosure",
    "exit_reason": "exit_reason",
    "exit_decision_no": "exit_decision_no",
}


def record_out_as_of(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    view = record_out(record)
    view.update({out: state.get(name) for name, out in _AS_OF_FIELDS.items()})
    view["subject"] = view["subject"] | {"name": state.get("subject_name", view["subject"]["name"])}
    if view["status"] not in EXITED:
        view["exited_at"] = None
    return view


def record_out(record: Record) -> dict[str, Any]:
    subject = record.subject
    return {
        "id": record.id,
        "external_id": record.external_id,
        "domain": record.domain_code,
        "list_type": record.list_type,
        "severity": record.severity,
        "subject": {
            "id": subject.id,
            "kind": subject.kind,
            "name": record.subject_name,
            "identifier_type": subject.identifier_type,
            "identifier": subject.identifier,
        },
        "conduct": record.conduct,
        "decision_no": record.decision_no,
        "decision_date": record.decision_date,
        "legal_basis": record.legal_basis,
        "publicity_start": record.publicity_start,
        "publicity_end": record.publicity_end,
        "visibility": record.visibility,
        "status": history.effective_status(record.status, record.publicity_end, china_today()),
        "version": record.version,
        "under_objection": record.under_objection,
        "designating_agency": {"code": record.agency.code, "name_zh": record.agency.name_zh},
        "received_at": record.received_at,
        "updated_at": record.updated_at,
        "late_disclosure": record.late_disclosure,
        "calendar_note": record.calendar_note,
        "exited_at": record.exited_at,
        "exit_reason": record.exit_reason,
        "exit_decision_no": record.exit_decision_no,
    }


def changes(session: Session, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    entries = audit.entries_after(session, after, limit, entity_type="record")
    items = []
    for entry in entries:
        state = audit.parse_payload(entry.payload)
        items.append(
            {
                "cursor": str(entry.seq),
                "at": entry.at,
                "event": entry.action,
                "record_id": entry.entity_id,
                "agency": state.get("agency_code"),
                "domain": state.get("domain_code"),
                "status": state.get("status"),
                "version": state.get("version"),
            }
        )
    return items, entries[-1].seq if entries else after


def record_history(session: Session, principal: Principal, record_id: uuid.UUID) -> list[dict[str, Any]]:
    get_record(session, principal, record_id)  # existence and visibility
    entries = audit.entries_for(session, "record", str(record_id))
    history_items = []
    for entry in entries:
        state = audit.parse_payload(entry.payload)
        extra = {key: value for key, value in state.items() if key not in _SNAPSHOT_FIELDS}
        history_items.append(
            {
                "seq": entry.seq,
                "at": entry.at,
                "event": entry.action,
                "actor": entry.actor,
                "version": state.get("version"),
                "status": state.get("status"),
                "under_objection": state.get("under_objection"),
                "details": extra
                | ({"exit_reason": state["exit_reason"]} if state.get("exit_reason") else {}),
            }
        )
    return history_items


# --- publicity periods administered per domain ----------------------------------------------------


def publicity_table(session: Session) -> list[dict[str, Any]]:
    rules = publicity_rules(session)
    rows = []
    for domain in sorted(catalog.domain_codes(session)):
        for severity in ("minor", "general", "serious"):
            policy = rules.policy_for(domain, severity)
            source = "administrator" if (domain, severity) in rules.overrides else "default"
            rows.append({"domain": domain, "severity": severity, "source": source} | asdict(policy))
    return rows


def set_publicity(
    session: Session, actor: str, domain: str, severity: str, policy: PublicityPolicy | None
) -> dict[str, Any]:
    """Set (or, with None, remove) the administrator's periods for one domain and severity."""
    if domain not in catalog.domain_codes(session):
        raise NotFound(f"no domain {domain!r}")
    if policy is not None and not (
        policy.shortest_months <= policy.default_months <= policy.longest_months
        and policy.repair_after_months <= policy.longest_months
    ):
        raise ValidationFailed.one(
            "body", "need shortest <= default <= longest, and repair_after no later than longest"
        )
    row = session.get(PublicityOverride, (domain, severity))
    if row is not None:
        session.delete(row)
        session.flush()
    if policy is not None:
        session.add(
            PublicityOverride(domain_code=domain, severity=severity, updated_at=utcnow(), **asdict(policy))
        )
        session.flush()
    payload = {"severity": severity, "policy": asdict(policy) if policy else None}
    audit.append(session, actor, [audit.Event("publicity.set", "publicity", domain, payload)])
    return next(r for r in publicity_table(session) if r["domain"] == domain and r["severity"] == severity)


def list_records(
    session: Session,
    principal: Principal,
    *,
    agency: str | None,
    domain: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """An agency's records (its own by default), newest first; restricted ones only for their owner."""
    query = select(Record).where(Record.agency_code == (agency or principal.agency_code))
    if domain is not None:
        query = query.where(Record.domain_code == domain)
    if status is not None:
        today = china_today()
        # Status as the calendar has it: an active record past its end counts as expired.
        if status == "active":
            query = query.where(Record.status == "active", Record.publicity_end >= today)
        elif status == "expired":
            query = query.where(
                (Record.status == "expired") | ((Record.status == "active") & (Record.publicity_end < today))
            )
        else:
            query = query.where(Record.status == status)
    if not (agency in (None, principal.agency_code) or principal.has(Scope.admin)):
        query = query.where(Record.visibility != "restricted")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.options(joinedload(Record.subject), joinedload(Record.agency))
        .order_by(Record.received_at.desc(), Record.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [record_out(record) for record in page], total
