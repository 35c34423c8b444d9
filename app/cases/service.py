"""Repair and objection cases: opened by the entity, decided by the designating agency.

"谁认定谁修复": only the agency that designated a record decides its cases. Deadlines are working
days by the statutory calendar: 10 for a repair decision (国办发〔2020〕49号; NDRC Order No. 36) and
10 for an answer to an objection.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.cases.errors import (
    CaseAlreadyOpen,
    CaseClosed,
    FileTooLarge,
    MinimumPeriodNotElapsed,
    UnsupportedFileType,
)
from app.cases.models import Case, CaseFile
from app.cases.schemas import OUTCOMES_BY_KIND, DecisionIn, ObjectionIn, RepairIn
from app.catalog import service as catalog
from app.db import serialize_writers
from app.errors import Forbidden, NotFound, ValidationFailed
from app.kit.clock import add_months, china_today, utcnow
from app.kit.querycodes import hash_query_code, new_query_code
from app.kit.workdays import CalendarUnknown
from app.records import history, lifecycle, publicity, repository
from app.records.errors import RecordNotActive

if TYPE_CHECKING:
    from app.records.models import Record

DECISION_WORKDAYS = 10
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES_PER_CASE = 10
# Evidence files are scans and photos; the content is sniffed, not taken from the client's word.
FILE_SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
PUBLIC_ACTOR = "public"


@dataclass(frozen=True)
class Opened:
    case: Case
    query_code: str


def _open_record(session: Session, record_id: uuid.UUID) -> "Record":
    record = repository.find_record(session, record_id)
    if record is None:
        raise NotFound(f"no record {record_id}")
    status = history.effective_status(record.status, record.publicity_end, china_today())
    if status != "active":
        raise RecordNotActive(
            f"record {record_id} has already exited ({status}); there is nothing to open a case on"
        )
    return record


def _refuse_second_open_case(session: Session, record: "Record", kind: str) -> None:
    serialize_writers(session)  # two applications at once: the second sees the first
    open_case = session.scalar(
        select(Case.id).where(Case.record_id == record.id, Case.kind == kind, Case.status == "submitted")
    )
    if open_case is not None:
        raise CaseAlreadyOpen(
            f"a {kind} case on record {record.id} is already open; follow it with its query code"
        )


def _due_date(session: Session, submitted_on: date) -> tuple[date | None, str | None]:
    try:
        return catalog.workday_calendar(session).add_workdays(submitted_on, DECISION_WORKDAYS), None
    except CalendarUnknown as exc:
        return None, f"deadline unknown: {exc}"


def _new_case(session: Session, record: "Record", kind: str, **fields: object) -> Opened:
    code = new_query_code()
    now = utcnow()
    due_by, note = _due_date(session, china_today())
    case = Case(
        id=uuid.uuid4(),
        kind=kind,
        record_id=record.id,
        agency_code=record.agency_code,
        query_code_hash=hash_query_code(code),
        status="submitted",
        submitted_at=now,
        due_by=due_by,
        calendar_note=note,
        **fields,
    )
    session.add(case)
    session.flush()
    audit.append(
        session,
        PUBLIC_ACTOR,
        [audit.Event("case.submitted", "case", str(case.id), {"kind": kind, "record_id": str(record.id)})],
    )
    return Opened(case, code)


def apply_for_repair(session: Session, body: RepairIn) -> Opened:
    if not body.commitment:
        raise ValidationFailed.one("commitment", "a public credit commitment (信用承诺) must be given: true")
    record = _open_record(session, body.record_id)
    if record.list_type == "red":
        raise ValidationFailed.one("record_id", "credit repair applies to black and focus list records")
    policy = publicity.publicity_rules(session).policy_for(record.domain_code, record.severity)
    first_allowed = add_months(record.decision_date, policy.repair_after_months)
    if china_today() < first_allowed:
        # NDRC Order No. 36: repair only after the minimum publicity period.
        raise MinimumPeriodNotElapsed(
            f"credit repair of this record can be applied for from {first_allowed}",
            first_allowed_date=first_allowed.isoformat(),
        )
    _refuse_second_open_case(session, record, "repair")
    opened = _new_case(
        session,
        record,
        "repair",
        applicant_name=body.applicant.name,
        contact=body.applicant.contact,
        statement=body.statement,
        commitment=True,
        evidence=[item.model_dump() for item in body.evidence],
    )
    lifecycle.note_event(session, record, PUBLIC_ACTOR, "record.repair_applied", case_id=str(opened.case.id))
    return opened


def raise_objection(session: Session, body: ObjectionIn) -> Opened:
    record = _open_record(session, body.record_id)
    _refuse_second_open_case(session, record, "objection")
    opened = _new_case(
        session,
        record,
        "objection",
        applicant_name=body.name,
        contact=body.contact,
        reason=body.reason,
        statement=body.statement,
        evidence=[],
    )
    # The record keeps applying, flagged, until the agency answers.
    lifecycle.set_under_objection(session, record, True, PUBLIC_ACTOR, "record.objection_raised")
    return opened


def case_by_query_code(session: Session, code: str, kind: str | None = None) -> Case:
    case = session.scalars(select(Case).where(Case.query_code_hash == hash_query_code(code))).first()
    if case is None or (kind is not None and case.kind != kind):
        raise NotFound("no case with that query code")
    return case


def add_file(session: Session, case: Case, filename: str, declared_type: str, content: bytes) -> CaseFile:
    if case.status != "submitted":
        raise CaseClosed("the case has been decided; no more evidence can be added")
    if len(content) > MAX_FILE_BYTES:
        raise FileTooLarge(f"a file may be at most {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if not content:
        raise ValidationFailed.one("file", "the file is empty")
    sniffed = next(
        (kind for kind, signatures in FILE_SIGNATURES.items() if content.startswith(signatures)), None
    )
    if sniffed is None:
        raise UnsupportedFileType(
            f"evidence must be one of {', '.join(FILE_SIGNATURES)} (got {declared_type})"
        )
    count = session.scalar(select(func.count()).select_from(CaseFile).where(CaseFile.case_id == case.id)) or 0
    if count >= MAX_FILES_PER_CASE:
        raise ValidationFailed.one("file", f"a case holds at most {MAX_FILES_PER_CASE} files")
    stored = CaseFile(
        id=uuid.uuid4(),
        case_id=case.id,
        filename=(filename or "evidence")[-200:],
        content_type=sniffed,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_at=utcnow(),
    )
    session.add(stored)
    session.flush()
    audit.append(
        session,
        PUBLIC_ACTOR,
        [
            audit.Event(
                "case.file_added", "case", str(case.id), {"file": str(stored.id), "sha256": stored.sha256}
            )
        ],
    )
    return stored


def case_files(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CaseFile]]:
    found: dict[uuid.UUID, list[CaseFile]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        query = select(CaseFile).where(CaseFile.case_id.in_(case_ids)).order_by(CaseFile.uploaded_at)
        for stored in session.scalars(query.execution_options(populate_existing=True)):
            found[stored.case_id].append(stored)
    return found


def list_cases(
    session: Session,
    *,
    agency_code: str | None,
    kind: str | None,
    status: str | None,
    overdue: bool,
    limit: int,
    offset: int,
) -> tuple[list[Case], int]:
    query = select(Case)
    if agency_code is not None:
        query = query.where(Case.agency_code == agency_code)
    if kind is not None:
        query = query.where(Case.kind == kind)
    if status is not None:
        query = query.where(Case.status == status)
    if overdue:
        query = query.where(Case.status == "submitted", Case.due_by < china_today())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Case.submitted_at, Case.id).limit(limit).offset(offset)).all()
    return list(page), total


def get_case(session: Session, principal: Principal, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None or not (case.agency_code == principal.agency_code or principal.has(Scope.admin)):
        raise NotFound(f"no case {case_id} among this agency's cases")
    return case


def decide(session: Session, principal: Principal, case_id: uuid.UUID, body: DecisionIn) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.agency_code != principal.agency_code:
        raise Forbidden(f"case {case_id} is decided by {case.agency_code}, which designated the record")
    if case.status != "submitted":
        raise CaseClosed(f"case {case_id} was already decided ({case.status})")
    if body.outcome not in OUTCOMES_BY_KIND[case.kind]:
        allowed = ", ".join(OUTCOMES_BY_KIND[case.kind])
        raise ValidationFailed.one("outcome", f"a {case.kind} case is decided with one of: {allowed}")
    if (body.outcome == "corrected") != (body.correction is not None):
        raise ValidationFailed.one(
            "correction", "give the correction exactly when the outcome is 'corrected'"
        )
    record = repository.find_record(session, case.record_id)
    assert record is not None  # cases reference records by foreign key
    actor = principal.actor
    if body.outcome == "approved":
        # Repair: stop publishing and sharing, lift the measures (NDRC Order No. 36).
        lifecycle.exit_record(
            session,
            record,
            "repaired",
            f"credit repair approved: {body.reason}",
            None,
            actor,
            "record.repaired",
        )
    elif body.outcome == "revoked":
        lifecycle.exit_record(
            session, record, "revoked", f"objection upheld: {body.reason}", None, actor, "record.revoked"
        )
    elif body.outcome == "corrected":
        assert body.correction is not None
        lifecycle.correct_record(
            session,
            principal,
            record,
            body.correction,
            "record.corrected",
            reason=body.reason,
            case_id=str(case.id),
        )
    if case.kind == "objection":
        lifecycle.set_under_objection(session, record, False, actor, "record.objection_decided")
    else:
        lifecycle.note_event(
            session, record, actor, "record.repair_decided", case_id=str(case.id), outcome=body.outcome
        )
    case.status = body.outcome
    case.outcome = body.outcome
    case.decision_reason = body.reason
    case.decided_at = utcnow()
    case.decided_by = actor
    session.flush()
    audit.append(
        session,
        actor,
        [audit.Event("case.decided", "case", str(case.id), {"outcome": body.outcome, "reason": body.reason})],
    )
    return case


def case_counts(
    session: Session, domains: set[str], since: datetime, until: datetime
) -> list[tuple[str, str, str, str, int]]:
    """(domain, designating agency, kind, status, count) of cases submitted in [since, until) on
    records of `domains`."""
    keys = repository.record_keys()
    rows = session.execute(
        select(keys.c.domain_code, keys.c.agency_code, Case.kind, Case.status, func.count())
        .join(keys, keys.c.id == Case.record_id)
        .where(keys.c.domain_code.in_(domains), Case.submitted_at >= since, Case.submitted_at < until)
        .group_by(keys.c.domain_code, keys.c.agency_code, Case.kind, Case.status)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
