"""Tell before listing (国办发〔2020〕49号 (八)): the agency gives notice of a serious black listing
with its reasons, basis and the subject's rights; the subject may state a defence (陈述申辩) until
`respond_by` (by default, and at the earliest, 5 working days by the statutory calendar); then, or
once the statement is in and weighed, the agency finalizes the notice into the record, or withdraws it.

A notice left unfinalized for EXPIRES_AFTER_DAYS after `respond_by` expires: the facts and the
subject's situation may have moved on, and a listing decided on them should be notified afresh.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog import service as catalog
from app.db import serialize_writers
from app.errors import NotFound, ValidationFailed
from app.kit.clock import china_date, china_today, utcnow
from app.kit.masking import mask_identifier, mask_resident_ids
from app.kit.querycodes import hash_query_code, new_query_code
from app.kit.workdays import CalendarUnknown
from app.notices.errors import (
    NoticeClosed,
    StatementAlreadyGiven,
    StatementPeriodRunning,
    StatementTooLate,
)
from app.notices.models import Notice
from app.notices.schemas import FinalizeIn, NoticeIn, StatementIn, WithdrawIn
from app.records import ingest, repository
from app.records.errors import ExternalIdConflict
from app.records.schemas import RecordIn

EXPIRES_AFTER_DAYS = 60
PUBLIC_ACTOR = "public"


def expires_on(notice: Notice) -> date:
    return notice.respond_by + timedelta(days=EXPIRES_AFTER_DAYS)


def effective_status(notice: Notice, today: date) -> str:
    """The stored status, or `expired` for a notice still open past its expiry day."""
    return "expired" if notice.status == "notified" and today > expires_on(notice) else notice.status


@dataclass(frozen=True)
class Created:
    notice: Notice
    query_code: str


def _ordinary_weekdays_after(day: date, count: int) -> date:
    """The count-th Monday-to-Friday after `day`: the floor when the statutory calendar cannot tell."""
    while count:
        day += timedelta(days=1)
        count -= day.weekday() < 5
    return day


def _respond_by(session: Session, domain: str, given: date | None, today: date) -> tuple[date, str | None]:
    period = ingest.statement_workdays(domain)
    try:
        earliest = catalog.workday_calendar(session).add_workdays(today, period)
    except CalendarUnknown as exc:
        if given is None:
            raise ValidationFailed.one(
                "respond_by",
                f"the registry cannot count {period} working days from {today}: {exc}; give respond_by",
            ) from None
        floor = _ordinary_weekdays_after(today, period)
        if given < floor:
            raise ValidationFailed.one(
                "respond_by", f"give the subject at least {period} working days: {floor} or later"
            ) from None
        return given, f"respond_by set by the agency; the statutory calendar could not check it: {exc}"
    if given is None:
        return earliest, None
    if given < earliest:
        raise ValidationFailed.one(
            "respond_by",
            f"the subject has at least {period} working days to state a defence: {earliest} or later",
        )
    return given, None


def create_notice(session: Session, principal: Principal, body: NoticeIn) -> Created:
    item = RecordIn.model_validate(body.model_dump(exclude={"respond_by"}))
    if item.notice is not None:
        raise ValidationFailed.one(
            "notice", "this is the notice: leave out the attestation of a notice served elsewhere"
        )
    # The domain role, minors, the publicity period...: as the push on finalizing will be checked.
    ingest.check_listing(session, principal, item)
    if item.list_type == "red":
        raise ValidationFailed.one("list_type", "a red listing is not preceded by a notice")
    if item.domain == ingest.COURT_DOMAIN:
        raise ValidationFailed.one(
            "domain", "court listings follow the court's own procedure (法释〔2017〕7号), not a notice"
        )
    today = china_today()
    respond_by, note = _respond_by(session, item.domain, body.respond_by, today)

    serialize_writers(session)  # two notices of one listing at once: the second sees the first
    open_one = session.scalar(
        select(Notice.id).where(
            Notice.agency_code == principal.agency_code,
            Notice.external_id == item.external_id,
            Notice.status == "notified",
            Notice.respond_by >= today - timedelta(days=EXPIRES_AFTER_DAYS),
        )
    )
    if open_one is not None:
        raise ExternalIdConflict(
            f"external_id {item.external_id!r} is already announced by open notice {open_one}"
        )
    code = new_query_code()
    notice = Notice(
        id=uuid.uuid4(),
        agency_code=principal.agency_code,
        domain_code=item.domain,
        external_id=item.external_id,
        body=item.model_dump(mode="json", exclude_none=True),
        query_code_hash=hash_query_code(code),
        status="notified",
        respond_by=respond_by,
        calendar_note=note,
        created_at=utcnow(),
        created_by=principal.actor,
    )
    session.add(notice)
    session.flush()
    _log(session, principal.actor, "notice.created", notice, respond_by=respond_by.isoformat())
    return Created(notice, code)


def _log(session: Session, actor: str, action: str, notice: Notice, **details: Any) -> None:
    payload = {"external_id": notice.external_id, "domain": notice.domain_code, **details}
    audit.append(session, actor, [audit.Event(action, "notice", str(notice.id), payload)])


def notice_by_code(session: Session, code: str) -> Notice:
    notice = session.scalars(select(Notice).where(Notice.query_code_hash == hash_query_code(code))).first()
    if notice is None:
        raise NotFound("no notice with that query code")
    return notice


def state_defence(session: Session, code: str, body: StatementIn) -> Notice:
    """The subject's statement of defence (陈述申辩): once, until respond_by."""
    serialize_writers(session)  # a statement sent twice at once: the second sees the first
    notice = notice_by_code(session, code)
    today = china_today()
    if notice.statement is not None:
        raise StatementAlreadyGiven(
            f"a statement was already received on {china_date(notice.stated_at or utcnow())}"
        )
    if notice.status in ("withdrawn", "finalized"):
        raise NoticeClosed(f"the notice was {notice.status}; no statement can be added", status=notice.status)
    if today > notice.respond_by:
        raise StatementTooLate(
            f"the time to state a defence ended on {notice.respond_by} (respond_by)",
            respond_by=notice.respond_by.isoformat(),
        )
    notice.statement = body.statement
    notice.contact = body.contact
    notice.stated_at = utcnow()
    session.flush()
    # The log proves what was received and when; the text itself stays on the notice.
    digest = hashlib.sha256(body.statement.encode()).hexdigest()
    _log(session, PUBLIC_ACTOR, "notice.statement_received", notice, statement_sha256=digest)
    return notice


def list_notices(
    session: Session, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[Notice], int]:
    """The agency's own notices, newest first."""
    query = select(Notice).where(Notice.agency_code == principal.agency_code)
    if status is not None:
        stale = china_today() - timedelta(days=EXPIRES_AFTER_DAYS)
        if status == "expired":
            query = query.where(Notice.status == "notified", Notice.respond_by < stale)
        elif status == "notified":
            query = query.where(Notice.status == "notified", Notice.respond_by >= stale)
        else:
            query = query.where(Notice.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Notice.created_at.desc(), Notice.id).limit(limit).offset(offset))
    return list(page), total


def get_notice(session: Session, principal: Principal, notice_id: uuid.UUID) -> Notice:
    """One notice: the agency's own, or any for an administrator."""
    notice = session.get(Notice, notice_id)
    if notice is None or not (notice.agency_code == principal.agency_code or principal.has(Scope.admin)):
        raise NotFound(f"no notice {notice_id} among this agency's notices")
    return notice


def _own_open_notice(session: Session, principal: Principal, notice_id: uuid.UUID) -> Notice:
    serialize_writers(session)  # finalize and withdraw at once: the second sees the first
    notice = session.get(Notice, notice_id)
    if notice is None or notice.agency_code != principal.agency_code:
        raise NotFound(f"no notice {notice_id} among this agency's notices")
    status = effective_status(notice, china_today())
    if status == "expired":
        raise NoticeClosed(
            f"notice {notice_id} expired on {expires_on(notice)}, {EXPIRES_AFTER_DAYS} days after "
            f"respond_by without a decision; notify the subject again",
            status=status,
        )
    if status != "notified":
        # A finalize sent again finds the record it made.
        made = {"record_id": str(notice.record_id)} if notice.record_id is not None else {}
        raise NoticeClosed(f"notice {notice_id} was already {status}", status=status, **made)
    return notice


def finalize(session: Session, principal: Principal, notice_id: uuid.UUID, body: FinalizeIn) -> uuid.UUID:
    """List the subject as notified: after respond_by, or once its statement was received and weighed."""
    notice = _own_open_notice(session, principal, notice_id)
    if notice.statement is None and china_today() <= notice.respond_by:
        raise StatementPeriodRunning(
            f"the subject may state a defence until {notice.respond_by}; finalize from "
            f"{notice.respond_by + timedelta(days=1)}, or once a statement is received",
            respond_by=notice.respond_by.isoformat(),
        )
    if notice.statement is not None and body.considered is None:
        raise ValidationFailed.one(
            "considered", "the subject stated a defence: say how it was considered before listing"
        )
    decided = {"decision_date": _decision_day(notice, body.decision_date).isoformat()}
    if body.decision_no is not None:
        decided["decision_no"] = body.decision_no
    item = RecordIn.model_validate(notice.body | decided)
    as_notified = RecordIn.model_validate(notice.body)
    from_notice = ingest.FromNotice(notice.id, china_date(notice.created_at), as_notified)
    (outcome,) = ingest.ingest(session, principal, [item], from_notice)
    if outcome.error is not None:
        raise outcome.error
    if outcome.status != "created":
        raise ExternalIdConflict(
            f"external_id {item.external_id!r} was listed meanwhile as record {outcome.id}; "
            "withdraw this notice"
        )
    notice.status = "finalized"
    notice.considered = body.considered
    notice.record_id = outcome.id
    notice.closed_at = utcnow()
    notice.closed_by = principal.actor
    session.flush()
    _log(
        session,
        principal.actor,
        "notice.finalized",
        notice,
        record_id=str(outcome.id),
        considered=body.considered,
    )
    assert outcome.id is not None
    return outcome.id


def _decision_day(notice: Notice, given: date | None) -> date:
    """The listing decision comes after the subject was heard (国办发〔2020〕49号 (八): told before
    listing, with the right to state a defence): not before the statement period ended, or before
    the statement received, and not later than today."""
    today = china_today()
    day = given or today
    heard_by = (
        china_date(notice.stated_at)
        if notice.stated_at is not None
        else notice.respond_by + timedelta(days=1)
    )
    if day > today:
        raise ValidationFailed.one("decision_date", f"{day} is in the future (today is {today})")
    if day < heard_by:
        why = "the statement was received" if notice.stated_at is not None else "the statement period ended"
        raise ValidationFailed.one(
            "decision_date",
            f"{day} is before the subject was heard: the listing is decided from {heard_by}, once {why}",
        )
    return day


def withdraw(session: Session, principal: Principal, notice_id: uuid.UUID, body: WithdrawIn) -> Notice:
    """The agency will not list (the statement convinced it, or the facts changed)."""
    serialize_writers(session)
    notice = session.get(Notice, notice_id)
    if notice is None or notice.agency_code != principal.agency_code:
        raise NotFound(f"no notice {notice_id} among this agency's notices")
    if notice.status != "notified":  # an expired notice may still be closed by withdrawing it
        raise NoticeClosed(f"notice {notice_id} was already {notice.status}", status=notice.status)
    notice.status = "withdrawn"
    notice.withdraw_reason = body.reason
    notice.closed_at = utcnow()
    notice.closed_by = principal.actor
    session.flush()
    _log(session, principal.actor, "notice.withdrawn", notice, reason=body.reason)
    return notice


def notice_out(notice: Notice) -> dict[str, Any]:
    statement = None
    if notice.statement is not None:
        statement = {"statement": notice.statement, "contact": notice.contact, "stated_at": notice.stated_at}
    return {
        "id": notice.id,
        "status": effective_status(notice, china_today()),
        "external_id": notice.external_id,
        "domain": notice.domain_code,
        "respond_by": notice.respond_by,
        "expires_on": expires_on(notice),
        "calendar_note": notice.calendar_note,
        "created_at": notice.created_at,
        "created_by": notice.created_by,
        "record": notice.body,
        "statement": statement,
        "considered": notice.considered,
        "closed_at": notice.closed_at,
        "closed_by": notice.closed_by,
        "withdraw_reason": notice.withdraw_reason,
        "record_id": notice.record_id,
    }


# --- what the subject reads ------------------------------------------------------------------------

LIST_ZH = {"black": "黑名单", "focus": "重点关注名单"}
SEVERITY_ZH = {"serious": "严重", "general": "一般", "minor": "轻微"}


def rights(respond_by: date) -> list[str]:
    """The subject's rights, as the notice states them (国办发〔2020〕49号 (八); NDRC Order No. 36)."""
    return [
        f"陈述申辩：您有权在 {respond_by:%Y年%m月%d日}（含当日）前，就拟列入名单的事实、理由和依据进行"
        "陈述和申辩，可凭本告知的查询码在线提交；逾期未提交的，视为放弃陈述申辩。",
        "提出异议：列入名单后，如认为记录存在错误、遗漏或依法不应公示，可以向认定部门或本平台提出异议。",
        "申请信用修复：列入名单后，纠正失信行为、履行相关义务并作出信用承诺的，"
        "可以在最短公示期满后申请信用修复。",
    ]


def _shown_identifier(subject: dict[str, Any]) -> str:
    # A query code may be passed on: the identifier as every public answer shows it (one mask
    # everywhere: two masks of one number would together show more than either).
    return mask_identifier(subject["kind"], subject["identifier_type"], str(subject["identifier"]))


def _decided_on(session: Session, notice: Notice) -> date | None:
    if notice.record_id is None:
        return None
    record = repository.find_record(session, notice.record_id)
    return record.decision_date if record is not None else None


def public_view(session: Session, notice: Notice) -> dict[str, Any]:
    """The notice as its query code shows it: a person's number masked wherever it is written."""
    body = notice.body
    today = china_today()
    status = effective_status(notice, today)
    domains = {domain.code: domain.name_zh for domain in catalog.list_domains(session)}
    agencies = catalog.agency_names(session)
    statement = None
    if notice.statement is not None:
        statement = {"statement": mask_resident_ids(notice.statement), "stated_at": notice.stated_at}
    agency, domain = notice.agency_code, notice.domain_code
    return {
        "status": status,
        "agency": {"code": agency, "name_zh": agencies.get(agency, agency)},
        "domain": {"code": domain, "name_zh": domains.get(domain, domain)},
        "subject": {
            "kind": body["subject"]["kind"],
            "name": mask_resident_ids(body["subject"]["name"]),
            "identifier": _shown_identifier(body["subject"]),
        },
        "list_type": body["list_type"],
        "severity": body["severity"],
        "reasons": mask_resident_ids(body["conduct"]),
        "decision_no": mask_resident_ids(body["decision_no"]),
        # The listing is decided when finalized (the notice's own date came before the subject was
        # heard): none until then.
        "decision_date": _decided_on(session, notice),
        "basis": mask_resident_ids(body["legal_basis"]),
        "rights": rights(notice.respond_by),
        "notified_on": china_date(notice.created_at),
        "respond_by": notice.respond_by,
        "may_state": status == "notified" and notice.statement is None and today <= notice.respond_by,
        "statement": statement,
    }
