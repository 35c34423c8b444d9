"""Repair and objection cases: opened by the entity, decided by the designating agency; a rejected
repair appealed once to the credit office.

"谁认定谁修复": only the agency that designated a record decides its cases. Deadlines are working
days by the statutory calendar: 10 for a repair decision (国办发〔2020〕49号; NDRC Order No. 36) and
10 for an answer to an objection.

A rejection may be reviewed (NDRC Order No. 36: the applicant may seek review of the decision). The
period is the registry's own rule, set like the decision's: one appeal, lodged within 10 working days
after the rejection (the day of the rejection not counted, the last day included), decided by an
administrator of the credit office within 10 working days; the agency that rejected never decides
it. An upheld appeal grants the repair as an approved repair does.
"""

import hashlib
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.cases import decision_document
from app.cases.errors import (
    AlreadyAppealed,
    AppealPeriodOver,
    CaseAlreadyOpen,
    CaseClosed,
    FileTooLarge,
    MinimumPeriodNotElapsed,
    NotAppealable,
    UnsupportedFileType,
)
from app.cases.models import Case, CaseFile
from app.cases.schemas import OUTCOMES_BY_KIND, AppealIn, DecisionIn, ObjectionIn, RepairIn
from app.catalog import service as catalog
from app.db import serialize_writers
from app.errors import Forbidden, NotFound, ValidationFailed
from app.kit.clock import add_months, china_date, china_today, utcnow
from app.kit.masking import mask_resident_ids
from app.kit.querycodes import hash_query_code, new_query_code
from app.kit.workdays import CalendarUnknown
from app.records import history, lifecycle, publicity, repository
from app.records.errors import RecordNotActive
from app.records.ingest import COURT_DOMAIN

if TYPE_CHECKING:
    from app.records.models import Record

DECISION_WORKDAYS = 10
APPEAL_WORKDAYS = 10  # to lodge an appeal after a rejection; the credit office then has DECISION_WORKDAYS
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES_PER_CASE = 10
# Evidence files are scans and photos; the content is sniffed, not taken from the client's word.
FILE_SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
PUBLIC_ACTOR = "public"
DEADLINES_ACTOR = "system:case-deadlines"  # deadlines set once the calendar knows them


@dataclass(frozen=True)
class Opened:
    case: Case
    query_code: str


def public_reason(case: Case) -> str | None:
    """The agency's reasons as anyone holding the query code reads them: an identity number it wrote
    in them masked (DOMAIN.md, second release: nobody learns a person's full number from a public
    answer; the query code may be a stranger's, who raised the case)."""
    return mask_resident_ids(case.decision_reason) if case.decision_reason else case.decision_reason


def _open_record(session: Session, record_id: uuid.UUID) -> "Record":
    record = repository.find_record(session, record_id)
    if record is None:
        raise NotFound(f"no record {record_id}")
    status = history.effective_status(record.status, record.publicity_end, china_today())
    if status != "active":
        # How it exited (repaired, expired, revoked) is not told: a public answer, and the way a
        # record left may itself be what its subject keeps private.
        raise RecordNotActive(f"record {record_id} is no longer in force; there is nothing to open a case on")
    return record


def _comparable(text: str) -> str:
    """Text as compared for a resubmission: width, case, spacing and punctuation aside."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum() or ch == "@")


def _refuse_resubmission(session: Session, record: "Record", kind: str, contact: str, statement: str) -> None:
    """The same application sent again while the first is open (a second click, a retried request):
    refused, the applicant follows the first with its query code. Anything else is a case of its
    own: the registry cannot tell the subject from a stranger, so no application may hold another
    back (a stranger giving the subject's published phone number blocked the subject's own), and
    each is answered (国办发〔2020〕49号: the subject may apply for repair and raise objections)."""
    serialize_writers(session)  # two submissions at once: the second sees the first
    open_cases = session.execute(
        select(Case.contact, Case.statement).where(
            Case.record_id == record.id, Case.kind == kind, Case.status == "submitted"
        )
    )
    asked = (_comparable(contact), _comparable(statement))
    if any((_comparable(c), _comparable(s)) == asked for c, s in open_cases):
        raise CaseAlreadyOpen(
            f"this {kind} on record {record.id} was already submitted and is open; "
            "follow it with the query code given then"
        )


def _due_date(
    session: Session, start: date, workdays: int = DECISION_WORKDAYS
) -> tuple[date | None, str | None]:
    try:
        return catalog.workday_calendar(session).add_workdays(start, workdays), None
    except CalendarUnknown as exc:
        return None, f"deadline unknown: {exc}"


def _new_case(session: Session, record: "Record", kind: str, code: str | None, **fields: object) -> Case:
    now = utcnow()
    due_by, note = _due_date(session, china_today())
    case = Case(
        id=uuid.uuid4(),
        kind=kind,
        record_id=record.id,
        agency_code=record.agency_code,
        query_code_hash=hash_query_code(code) if code is not None else None,
        status="submitted",
        submitted_at=now,
        due_by=due_by,
        calendar_note=note,
        **fields,
    )
    session.add(case)
    session.flush()
    details = {"kind": kind, "record_id": str(record.id)}
    if case.appeal_of_id is not None:
        details["appeal_of"] = str(case.appeal_of_id)
    audit.append(session, PUBLIC_ACTOR, [audit.Event("case.submitted", "case", str(case.id), details)])
    return case


def fill_unknown_deadlines(session: Session, events: Sequence[audit.Event], seqs: Sequence[int]) -> None:
    """app.audit's listener: once the calendar changes, the open cases whose deadline it could not
    tell when they were opened get one (they were missing from the overdue list for good)."""
    if not any(event.entity_type == "calendar" for event in events):
        return
    calendar = catalog.workday_calendar(session)
    filled = []
    for case in session.scalars(select(Case).where(Case.status == "submitted", Case.due_by.is_(None))):
        try:
            case.due_by = calendar.add_workdays(china_date(case.submitted_at), DECISION_WORKDAYS)
        except CalendarUnknown:
            continue  # still beyond what the calendar knows
        case.calendar_note = None
        filled.append(
            audit.Event("case.deadline_set", "case", str(case.id), {"due_by": case.due_by.isoformat()})
        )
    if filled:
        session.flush()
        audit.append(session, DEADLINES_ACTOR, filled)


def _repair_opens_on(session: Session, record: "Record") -> date:
    policy = publicity.publicity_rules(session).policy_for(record.domain_code, record.severity)
    return add_months(record.decision_date, policy.repair_after_months)


def repair_opens_on(session: Session, record_id: uuid.UUID) -> date:
    """The first day credit repair of a record in force may be applied for (its minimum period over)."""
    return _repair_opens_on(session, _open_record(session, record_id))


def apply_for_repair(session: Session, body: RepairIn) -> Opened:
    if not body.commitment:
        raise ValidationFailed.one("commitment", "a public credit commitment (信用承诺) must be given: true")
    record = _open_record(session, body.record_id)
    if record.list_type == "red":
        raise ValidationFailed.one("record_id", "credit repair applies to black and focus list records")
    if record.domain_code == COURT_DOMAIN:
        # 法释〔2017〕7号 第十条、第十二条: a court listing ends when the judgment is performed (the court
        # deletes it) or is corrected by the court on its own review: not by the credit office's repair.
        raise ValidationFailed.one(
            "record_id",
            "a court listing is not repaired: the court deletes it once the judgment is performed, "
            "or corrects it on review (法释〔2017〕7号 第十条、第十二条); apply to the court",
        )
    first_allowed = _repair_opens_on(session, record)
    if china_today() < first_allowed:
        # NDRC Order No. 36: repair only after the minimum publicity period. The first day tells the
        # decision date and severity: named only for a record the public sees anyway; the subject of
        # another has it in the repair notice served with the listing (信用修复告知书).
        if not repository.record_in_public_force(session, record.id, china_today()):
            raise MinimumPeriodNotElapsed(
                "credit repair of this record cannot be applied for yet: the repair notice served "
                "with the listing decision (信用修复告知书) gives the first day",
                first_allowed_date=None,
            )
        raise MinimumPeriodNotElapsed(
            f"credit repair of this record can be applied for from {first_allowed}",
            first_allowed_date=first_allowed.isoformat(),
        )
    _refuse_resubmission(session, record, "repair", body.applicant.contact, body.statement)
    code = new_query_code()
    case = _new_case(
        session,
        record,
        "repair",
        code,
        applicant_name=body.applicant.name,
        contact=body.applicant.contact,
        statement=body.statement,
        commitment=True,
        evidence=[item.model_dump() for item in body.evidence],
    )
    lifecycle.note_event(session, record, PUBLIC_ACTOR, "record.repair_applied", case_id=str(case.id))
    return Opened(case, code)


def raise_objection(session: Session, body: ObjectionIn) -> Opened:
    record = _open_record(session, body.record_id)
    _refuse_resubmission(session, record, "objection", body.contact, body.statement)
    code = new_query_code()
    case = _new_case(
        session,
        record,
        "objection",
        code,
        applicant_name=body.name,
        contact=body.contact,
        reason=body.reason,
        statement=body.statement,
        evidence=[],
    )
    # The record keeps applying, flagged, until the agency answers.
    if record.under_objection:  # flagged already by another applicant's objection
        lifecycle.note_event(session, record, PUBLIC_ACTOR, "record.objection_raised", case_id=str(case.id))
    else:
        lifecycle.set_under_objection(session, record, True, PUBLIC_ACTOR, "record.objection_raised")
    return Opened(case, code)


def appeal_of(session: Session, case: Case) -> Case | None:
    """The appeal of a repair, once made."""
    return session.scalars(select(Case).where(Case.appeal_of_id == case.id)).first()


def _record_exited(session: Session, case: Case) -> bool:
    record = repository.find_record(session, case.record_id)
    assert record is not None  # cases reference records by foreign key
    return history.effective_status(record.status, record.publicity_end, china_today()) != "active"


def appeal_deadline(session: Session, repair: Case) -> date | None:
    """The last day a rejected repair may be appealed; None when the calendar cannot tell (the
    appeal is then accepted: a deadline the registry cannot compute is held against no one), and
    when its record has exited (there is nothing left to appeal)."""
    if _record_exited(session, repair):
        return None
    if repair.appeal_by is not None or repair.decided_at is None:
        return repair.appeal_by
    return _due_date(session, china_date(repair.decided_at), APPEAL_WORKDAYS)[0]


def may_appeal(session: Session, repair: Case) -> bool:
    """Whether the appeal form applies: a rejected repair, not yet appealed, within the deadline, of
    a record still in force."""
    if repair.kind != "repair" or repair.status != "rejected" or appeal_of(session, repair) is not None:
        return False
    if _record_exited(session, repair):
        return False
    deadline = appeal_deadline(session, repair)
    return deadline is None or china_today() <= deadline


def appeal(session: Session, repair: Case, body: AppealIn) -> Case:
    """Appeal a rejected repair to the credit office, once, within APPEAL_WORKDAYS of the rejection."""
    serialize_writers(session)  # two appeals at once: the second sees the first
    session.refresh(repair)
    if repair.kind != "repair" or repair.status != "rejected":
        raise NotAppealable(
            f"only a rejected repair can be appealed; this {repair.kind} case is {repair.status}"
        )
    if appeal_of(session, repair) is not None:
        raise AlreadyAppealed(
            "this repair has already been appealed; follow the appeal with the same query code"
        )
    deadline = appeal_deadline(session, repair)
    if deadline is not None and china_today() > deadline:
        raise AppealPeriodOver(
            f"the rejection could be appealed until {deadline}", appeal_by=deadline.isoformat()
        )
    record = _open_record(session, repair.record_id)
    case = _new_case(
        session,
        record,
        "appeal",
        None,  # followed by the repair's query code
        appeal_of_id=repair.id,
        applicant_name=repair.applicant_name,
        contact=body.contact,
        statement=body.statement,
        commitment=repair.commitment,
        evidence=[],
    )
    lifecycle.note_event(
        session,
        record,
        PUBLIC_ACTOR,
        "record.repair_appealed",
        case_id=str(case.id),
        appeal_of=str(repair.id),
    )
    return case


def case_by_query_code(session: Session, code: str, kind: str | None = None) -> Case:
    case = session.scalars(select(Case).where(Case.query_code_hash == hash_query_code(code))).first()
    if case is None or (kind is not None and case.kind != kind):
        raise NotFound("no case with that query code")
    return case


def case_for_files(session: Session, code: str) -> Case:
    """Where evidence sent with a query code goes: the case, or the pending appeal of its repair."""
    case = case_by_query_code(session, code)
    appealed = appeal_of(session, case) if case.kind == "repair" else None
    return appealed if appealed is not None and appealed.status == "submitted" else case


def add_file(session: Session, case: Case, filename: str, declared_type: str, content: bytes) -> CaseFile:
    # The case row locked (PostgreSQL; SQLite's writers queue already) until this commits, so that
    # concurrent uploads count each other's files and the cap holds; its status is read afresh too.
    session.refresh(case, with_for_update=True)
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
    if case is None or not (
        (case.agency_code == principal.agency_code and principal.has(Scope.cases_review))
        or principal.has(Scope.admin)
    ):
        raise NotFound(f"no case {case_id} among this agency's cases")
    return case


def _may_decide(session: Session, principal: Principal, case: Case) -> None:
    if case.kind == "appeal":
        # Review by someone other than the one who rejected: the credit office of the rejecting
        # agency's jurisdiction (国办发〔2020〕49号: 信用修复 is coordinated by the credit offices), never
        # the agency itself nor another agency that happens to administer the platform.
        office = catalog.credit_office_for(session, case.agency_code)
        if principal.agency_code == case.agency_code:
            raise Forbidden(
                f"case {case.id} appeals a rejection by {case.agency_code}, which cannot decide the appeal"
            )
        if not principal.has(Scope.admin) or principal.agency_code != office:
            raise Forbidden(f"case {case.id} is an appeal: the credit office {office} decides it")
    elif case.agency_code != principal.agency_code or not principal.has(Scope.cases_review):
        raise Forbidden(f"case {case.id} is decided by {case.agency_code}, which designated the record")


ACTING_ON_THE_RECORD = ("approved", "upheld", "revoked", "corrected")


def decide(session: Session, principal: Principal, case_id: uuid.UUID, body: DecisionIn) -> Case:
    # The case row locked until this commits (PostgreSQL; SQLite's writers queue already): two
    # decisions at once, the second finds the case decided instead of deciding it again.
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    _may_decide(session, principal, case)
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
    status = history.effective_status(record.status, record.publicity_end, china_today())
    # Whether the public saw the record as the case is decided: its document shows no more than that.
    published = repository.record_in_public_force(session, record.id, china_today())
    if status != "active" and body.outcome in ACTING_ON_THE_RECORD:
        # Expired, revoked or repaired meanwhile (another case, its agency, its period's end): there
        # is nothing left to repair, revoke or correct, and it must not change how it exited.
        raise RecordNotActive(
            f"record {record.id} has already exited ({status}): a case on it is closed as "
            "dismissed (an objection) or rejected (a repair), the decision saying so"
        )
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
    elif body.outcome == "upheld" and record.status not in repository.EXITED:
        # The appeal grants the repair the agency refused: the record exits as an approved repair does.
        lifecycle.exit_record(
            session,
            record,
            "repaired",
            f"credit repair granted on appeal: {body.reason}",
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
    if case.kind == "objection" and not _other_open_objection(session, case):
        lifecycle.set_under_objection(session, record, False, actor, "record.objection_decided")
    elif case.kind == "objection":  # another applicant's objection still awaits its answer
        lifecycle.note_event(session, record, actor, "record.objection_decided", case_id=str(case.id))
    else:
        lifecycle.note_event(
            session, record, actor, f"record.{case.kind}_decided", case_id=str(case.id), outcome=body.outcome
        )
    case.status = body.outcome
    case.outcome = body.outcome
    case.decision_reason = body.reason
    case.decided_at = utcnow()
    case.decided_by = actor
    case.decided_by_agency = principal.agency_code
    if body.outcome == "rejected" and status == "active":  # an exited record leaves nothing to appeal
        case.appeal_by = _due_date(session, china_date(case.decided_at), APPEAL_WORKDAYS)[0]
    case.decision_document = _document(session, case, record, published)
    session.flush()
    details = {
        "outcome": body.outcome,
        "reason": body.reason,
        "document_sha256": decision_document.digest(case.decision_document),
    }
    if case.appeal_by is not None:
        details["appeal_by"] = case.appeal_by.isoformat()
    audit.append(session, actor, [audit.Event("case.decided", "case", str(case.id), details)])
    return case


def _other_open_objection(session: Session, case: Case) -> bool:
    return (
        session.scalar(
            select(Case.id)
            .where(Case.record_id == case.record_id, Case.kind == "objection", Case.status == "submitted")
            .where(Case.id != case.id)
            .limit(1)
        )
        is not None
    )


def _document(session: Session, case: Case, record: "Record", published: bool) -> dict[str, Any]:
    domains = {domain.code: domain.name_zh for domain in catalog.list_domains(session)}
    return decision_document.content(case, record, catalog.agency_names(session), domains, published)


def decision_of(session: Session, case: Case) -> dict[str, Any]:
    """The written decision of a decided case, as issued. A case decided before decisions were kept
    has its document made from the record as it stands."""
    if case.decided_at is None:
        raise NotFound("the case has not been decided yet: there is no decision to download")
    if case.decision_document is not None:
        return case.decision_document
    record = repository.find_record(session, case.record_id)
    assert record is not None  # cases reference records by foreign key
    published = repository.record_in_public_force(session, record.id, china_today())
    return _document(session, case, record, published)


def case_counts(
    session: Session, domains: set[str], since: datetime, until: datetime
) -> list[tuple[str, str, str, str, int]]:
    """(domain, designating agency, kind, status, count) of cases submitted in [since, until) on
    records of `domains`."""
    keys = repository.record_keys()
    rows = session.execute(
        select(keys.c.domain_code, keys.c.agency_code, Case.kind, Case.status, func.count())
        .join(keys, keys.c.id == Case.record_id)
        .where(
            keys.c.domain_code.in_(domains),
            Case.kind.in_(("repair", "objection")),  # an appeal is its repair's sequel, not a new case
            Case.submitted_at >= since,
            Case.submitted_at < until,
        )
        .group_by(keys.c.domain_code, keys.c.agency_code, Case.kind, Case.status)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
