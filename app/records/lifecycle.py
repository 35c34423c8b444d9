"""A stored record changes in one way: a new version, guarded against concurrent changes, with its
audit event (the record's state after the change) in the same transaction. Corrections are checked
against the listing rules again; exits (revoked, repaired, expired) take the record out of every
public and sharing view at once and never delete it.
"""

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.catalog import service as catalog
from app.errors import Forbidden, ValidationFailed, VersionConflict, pydantic_fields
from app.kit.clock import china_date, china_today, utcnow
from app.kit.workdays import CalendarUnknown
from app.records.errors import RecordNotActive
from app.records.history import effective_status, recorded_state, snapshot
from app.records.ingest import COURT_DOMAIN, default_visibility, ingest_context, resolve
from app.records.models import Record
from app.records.queries import get_record
from app.records.schemas import DECISIVE_FIELDS, ExitIn, RecordCorrection, RecordIn, RecordPatch, RevokeIn

SYNC_WORKDAYS = 3


def _own_record(session: Session, principal: Principal, record_id: uuid.UUID) -> Record:
    record = get_record(session, principal, record_id)
    if record.agency_code != principal.agency_code:
        raise Forbidden(
            f"record {record_id} was designated by {record.agency_code}; only that agency may change it"
        )
    return record


def _own_record_locked(session: Session, principal: Principal, record_id: uuid.UUID) -> Record:
    """The agency's record, its row locked until the transaction ends (PostgreSQL; SQLite's writers
    are serialized already): a change sent without If-Match that races another waits for it and then
    sees the record as it became (409 when it has left force, never a 412 for a version it did not
    send)."""
    record = _own_record(session, principal, record_id)
    session.execute(select(Record.id).where(Record.id == record.id).with_for_update())
    session.refresh(record)  # as committed by whoever held the lock before
    return record


def patch_record(
    session: Session,
    principal: Principal,
    record_id: uuid.UUID,
    correction: RecordCorrection,
    expected_version: int,
) -> Record:
    record = _own_record(session, principal, record_id)
    if record.version != expected_version:
        raise VersionConflict(f"record {record_id} is at version {record.version}, not {expected_version}")
    patch = RecordPatch.model_validate(correction.model_dump(exclude_unset=True, include=PATCHABLE))
    decisive = [name for name in DECISIVE_FIELDS if name in patch.model_fields_set]
    if decisive and correction.correction_decision_no is None:
        raise ValidationFailed.one(
            "correction_decision_no",
            f"changing {', '.join(decisive)} is a new decision on the record: name it",
        )
    return correct_record(
        session,
        principal,
        record,
        patch,
        "record.updated",
        reason=correction.reason,
        correction_decision_no=correction.correction_decision_no,
    )


PATCHABLE = set(RecordPatch.model_fields)


def correct_record(
    session: Session, principal: Principal, record: Record, patch: RecordPatch, event: str, **details: Any
) -> Record:
    """Apply a correction with the listing rules checked again; the earlier state stays in the history,
    the event carries each change as [before, after] and the `details` given (reason, decision)."""
    if record.status != "active":
        raise RecordNotActive(
            f"record {record.id} has exited ({record.status}) and can no longer be corrected"
        )
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise ValidationFailed.one("body", "name at least one field to change")
    current = as_pushed(record)
    if "publicity_end" not in changes and ({"severity", "decision_date"} & changes.keys()):
        current["publicity_end"] = None  # the default follows the new severity or date
    if (
        "visibility" not in changes
        and changes.get("severity") == "minor"
        and record.visibility == default_visibility(record.severity)
    ):
        # Corrected to a minor lapse, a record published as its severity had it is no longer
        # (国办发〔2025〕22号: a minor lapse is published only when the agency decides to). Never the
        # other way: what was shared is published only when the agency says so (the registry does
        # not know whether a visibility was chosen or came by default).
        current["visibility"] = None
    try:
        item = RecordIn.model_validate(current | changes)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_fields(exc.errors())) from None
    ctx = ingest_context(session, principal)
    resolved = resolve(item, ctx, china_date(record.received_at))
    already_serious = record.list_type == "black" and record.severity == "serious"
    told = record.notice_id is not None or record.notice_served_on is not None
    if resolved.notice_error is not None and not already_serious and not told:
        # Made serious by a correction, it is a serious listing all the same (国办发〔2020〕49号 (八)).
        raise resolved.notice_error
    values = {
        "severity": item.severity,
        "conduct": item.conduct,
        "decision_no": item.decision_no,
        "decision_date": item.decision_date,
        "publicity_start": item.decision_date,
        "legal_basis": item.legal_basis,
        "performance": item.performance,
        "publicity_end": resolved.publicity_end,
        "visibility": resolved.visibility,
        "status": resolved.status,
        "late_disclosure": resolved.late_disclosure,
        "calendar_note": resolved.calendar_note,
        "content_hash": resolved.content_hash,
    }
    if resolved.status == "expired":
        values |= {"exited_at": ctx.now, "exit_reason": "publicity period over after correction"}
    return change_record(session, record, values, ctx.actor, event, **details)


def revoke_record(session: Session, principal: Principal, record_id: uuid.UUID, body: RevokeIn) -> Record:
    record = _own_record_locked(session, principal, record_id)
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
    """Take a record out of every public view, sharing answer and check (revoked, repaired, exited),
    and say by when other platforms must have taken it down: 3 working days (法释〔2017〕7号 第十条;
    NDRC Order No. 36 for repairs)."""
    if record.status in ("revoked", "repaired", "exited"):
        raise RecordNotActive(f"record {record.id} is already {record.status}")
    now = utcnow()
    try:
        sync_by = catalog.workday_calendar(session).add_workdays(china_date(now), SYNC_WORKDAYS)
    except CalendarUnknown:
        sync_by = None  # beyond the known calendar: the record's history still dates the exit
    values = {
        "status": status,
        "exited_at": now,
        "exit_reason": reason,
        "exit_decision_no": decision_no,
        "exit_sync_by": sync_by,
    }
    return change_record(session, record, values, actor, event)


def exit_listing(session: Session, principal: Principal, record_id: uuid.UUID, body: ExitIn) -> Record:
    """A court takes a debtor off its list once the debt is performed or settled (法释〔2017〕7号
    第十条): an exit with its own reason, not a revocation, which would say the listing was wrong.
    Other listings end by credit repair, by expiry or by revocation."""
    record = _own_record_locked(session, principal, record_id)
    if record.domain_code != COURT_DOMAIN:
        raise ValidationFailed.one(
            "record_id",
            f"only court listings ({COURT_DOMAIN}) exit this way; others end by credit repair, "
            "by the end of their publicity period, or by revocation",
        )
    status = effective_status(record.status, record.publicity_end, china_today())
    if status != "active":
        raise RecordNotActive(f"record {record.id} has already exited ({status})")
    return exit_record(
        session, record, "exited", body.reason, body.decision_no, principal.actor, "record.exited"
    )


def set_under_objection(session: Session, record: Record, flag: bool, actor: str, event: str) -> Record:
    return change_record(session, record, {"under_objection": flag}, actor, event)


def note_event(session: Session, record: Record, actor: str, event: str, **details: Any) -> None:
    """An event in the record's history that leaves the record as it is (a repair applied, ...)."""
    state = recorded_state(session, record)
    audit.append(session, actor, [audit.Event(event, "record", str(record.id), state | details)])


def change_record(
    session: Session, record: Record, values: dict[str, Any], actor: str, event: str, **details: Any
) -> Record:
    """The one way a stored record changes: a new version, guarded, with its audit event carrying the
    state after the change and each changed field as [before, after]."""
    before = snapshot(record)
    values = values | {"version": record.version + 1, "updated_at": utcnow()}
    update_versioned(session, record, values, record.version)
    after = recorded_state(session, record)
    changed = {
        name: [before[name], after[name]]
        for name in before
        if name != "version" and before[name] != after[name]
    }
    payload = after | details | {"changes": changed}
    audit.append(session, actor, [audit.Event(event, "record", str(record.id), payload)])
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


def as_pushed(record: Record) -> dict[str, Any]:
    """The record as an agency would push it today (RecordIn's fields, dates as dates)."""
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
        "listing_basis": record.listing_basis,
        "performance": record.performance,
    }
