"""The government view of records: one record, a subject with its records (now or as of a day), an
agency's list, and a record's history. Restricted records are for their designating agency and
administrators only (国办发〔2020〕49号: strict query permissions; shared "within a limited circle").
"""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.errors import NotFound
from app.kit.clock import china_date, china_today, end_of_day
from app.records import history
from app.records.history import _SNAPSHOT_FIELDS, SUBJECT_KEYS
from app.records.models import Record, Subject
from app.records.repository import EXITED, WITH_PARTIES, find_record, records_naming


def _may_see(principal: Principal, record: Record, as_of: date | None = None) -> bool:
    """Restricted records are for their designating agency (and administrators) only; so is an exited
    record (repaired, expired, revoked, exited): it stops being shared at once (DOMAIN.md: repair
    means stop publishing, stop sharing), though another agency still sees it as of a day it was
    in force."""
    if record.agency_code == principal.agency_code or principal.has(Scope.admin):
        return True
    if record.visibility == "restricted":
        return False
    return _in_force_on(record, as_of or china_today())


def _in_force_on(record: Record, day: date) -> bool:
    if record.exited_at is not None and china_date(record.exited_at) <= day:
        return False
    return record.publicity_end is None or record.publicity_end >= day


def get_record(session: Session, principal: Principal, record_id: uuid.UUID) -> Record:
    record = find_record(session, record_id)
    if record is None or not _may_see(principal, record):
        raise NotFound(f"no record {record_id}")
    return record


def subject_with_records(
    session: Session, principal: Principal, identifier: str, as_of: date | None = None
) -> tuple[dict[str, Any], list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """The government view of a subject: every record it may see, now or as the registry stood
    `as_of`, and the names those records carry. Another agency's restricted records, and the names
    only they carry, stay within their circle; a subject known only through them is not found."""
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier.strip().upper())).first()
    if subject is None:
        raise NotFound(f"no subject with identifier {identifier}")
    if subject.merged_into is not None:  # merged (app.records.merge): the identifier leads to the survivor
        subject = session.get(Subject, subject.merged_into) or subject
    query = (
        select(Record).options(joinedload(Record.agency), WITH_PARTIES).where(Record.subject_id == subject.id)
    )
    records = session.scalars(query.order_by(Record.decision_date.desc(), Record.received_at.desc())).all()
    for record in records:
        record.subject = subject
    visible = [record for record in records if _may_see(principal, record, as_of)]
    related = [
        (party, record)
        for party, record in records_naming(session, subject.id)
        if _may_see(principal, record, as_of)
    ]
    if not visible and not related and not principal.has(Scope.admin):
        raise NotFound(f"no subject with identifier {identifier}")
    if as_of is not None:
        visible = [record for record in visible if record.received_at < end_of_day(as_of)]
    # Every name the subject was pushed under, first seen first: each record keeps its agency's spelling.
    names = list(dict.fromkeys(r.subject_name for r in sorted(visible, key=lambda r: r.received_at)))
    newest = max(visible, key=lambda r: r.received_at, default=None)
    named = max(related, key=lambda pair: pair[1].received_at, default=None)
    shown = {
        "id": subject.id,
        "kind": subject.kind,
        "name": newest.subject_name if newest is not None else named[0].name if named else subject.name,
        "identifier_type": subject.identifier_type,
        "identifier": subject.identifier,
    }
    if as_of is None:
        views = [record_out(record) for record in visible]
    else:
        states = history.snapshots_as_of(session, [record.id for record in visible], as_of)
        views = [record_out_as_of(record, states[record.id]) for record in visible if record.id in states]
    related_to = [
        {
            "record_id": record.id,
            "role": party.role,
            "organisation": {
                "id": record.subject.id,
                "kind": record.subject.kind,
                "name": record.subject_name,
                "identifier_type": record.subject.identifier_type,
                "identifier": record.subject.identifier,
            },
            "domain": record.domain_code,
            "list_type": record.list_type,
            "severity": record.severity,
            "status": history.effective_status(record.status, record.publicity_end, china_today()),
            "designating_agency": {"code": record.agency.code, "name_zh": record.agency.name_zh},
        }
        for party, record in related
        if as_of is None or record.received_at < end_of_day(as_of)
    ]
    return shown, names, views, related_to


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
        "exit_sync_by": record.exit_sync_by,
        "related": [
            {
                "role": party.role,
                "subject": {
                    "id": party.subject.id,
                    "kind": party.subject.kind,
                    "name": party.name,
                    "identifier_type": party.subject.identifier_type,
                    "identifier": party.subject.identifier,
                },
            }
            for party in record.parties
        ],
        "listing_basis": record.listing_basis,
        "performance": record.performance,
        "notice_id": record.notice_id,
        "notice": {"document_no": record.notice_document_no, "served_on": record.notice_served_on}
        if record.notice_document_no is not None
        else None,
    }


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
            query = query.where(
                Record.status == "active", or_(Record.publicity_end.is_(None), Record.publicity_end >= today)
            )
        elif status == "expired":
            query = query.where(
                (Record.status == "expired") | ((Record.status == "active") & (Record.publicity_end < today))
            )
        else:
            query = query.where(Record.status == status)
    if not (agency in (None, principal.agency_code) or principal.has(Scope.admin)):
        # Another agency's records: shared ones in force only (as _may_see).
        today = china_today()
        query = query.where(
            Record.visibility != "restricted",
            Record.status == "active",
            or_(Record.publicity_end.is_(None), Record.publicity_end >= today),
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.options(joinedload(Record.subject), joinedload(Record.agency), WITH_PARTIES)
        .order_by(Record.received_at.desc(), Record.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [record_out(record) for record in page], total


def record_history(session: Session, principal: Principal, record_id: uuid.UUID) -> list[dict[str, Any]]:
    get_record(session, principal, record_id)  # existence and visibility
    entries = audit.entries_for(session, "record", str(record_id))
    history_items = []
    for entry in entries:
        state = audit.parse_payload(entry.payload)
        extra = {
            key: value
            for key, value in state.items()
            if key not in _SNAPSHOT_FIELDS and key not in SUBJECT_KEYS
        }
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
