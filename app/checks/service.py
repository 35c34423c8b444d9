"""Checks as they were recorded: read back with their receipts, listed, counted; and the feedback
approvers send on what they did (惩戒反馈)."""

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.checks import receipts
from app.checks.errors import FeedbackExists
from app.checks.models import Check, CheckFeedback
from app.checks.schemas import FeedbackIn, FeedbackOut
from app.checks.store import batch_lookup
from app.db import after_position, column_in
from app.errors import Forbidden, NotFound
from app.kit.clock import utcnow


def _visible_check(session: Session, principal: Principal, check_id: uuid.UUID) -> Check:
    check = session.get(Check, check_id)
    if check is None:
        raise NotFound(f"no check {check_id}")
    if check.agency_code != principal.agency_code and not principal.has(Scope.admin):
        raise Forbidden(f"check {check_id} was made by another agency")
    return check


def stored_check(session: Session, principal: Principal, check_id: uuid.UUID) -> dict[str, Any]:
    """The check as it was answered, its receipt, and the approver's feedback if any."""
    check = _visible_check(session, principal, check_id)
    feedback = session.scalars(select(CheckFeedback).where(CheckFeedback.check_id == check_id)).first()
    answer = dict(orjson.loads(check.answer))
    return answer | {
        "receipt": stored_receipt(check, answer, batch_lookup(session)),
        "agency": check.agency_code,
        "client_id": check.client_id,
        "feedback": FeedbackOut.model_validate(feedback) if feedback else None,
    }


def stored_receipt(check: Check, answer: dict[str, Any], batch_of: receipts.BatchLookup) -> str:
    """The receipt the check was answered with, its payload rebuilt from the row (and a batch's
    proof from the batch's leaves)."""
    if check.rules_digest is None or check.receipt_issuer is None:  # stored whole
        return check.receipt
    payload = receipts.receipt_payload(
        answer,
        check.agency_code,
        check.state_digest,
        check.rules_digest,
        check.receipt_issuer,
        check.receipt_format or 1,
    )
    return receipts.attach(check.receipt, payload, batch_of)


def give_feedback(
    session: Session, principal: Principal, check_id: uuid.UUID, body: FeedbackIn
) -> CheckFeedback:
    check = session.get(Check, check_id)
    if check is None:
        raise NotFound(f"no check {check_id}")
    if check.agency_code != principal.agency_code:
        raise Forbidden(f"check {check_id} was made by another agency; only its approver reports on it")
    if session.scalars(select(CheckFeedback.id).where(CheckFeedback.check_id == check_id)).first():
        raise FeedbackExists(f"feedback on check {check_id} was already given")
    feedback = CheckFeedback(
        id=uuid.uuid4(),
        check_id=check_id,
        outcome=body.outcome,
        note=body.note or None,
        agency_code=principal.agency_code,
        client_id=principal.client_id,
        reported_at=utcnow(),
    )
    session.add(feedback)
    session.flush()
    payload = {
        "outcome": body.outcome,
        "note": feedback.note,
        "decision": check.decision,
        "action": check.action,
    }
    audit.append(session, principal.actor, [audit.Event("check.feedback", "check", str(check_id), payload)])
    return feedback


def list_checks(
    session: Session,
    principal: Principal,
    *,
    agency: str | None,
    identifier: str | None,
    decision: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """An agency's checks, newest first; administrators may name any agency, or none for all."""
    if agency is not None and agency != principal.agency_code and not principal.has(Scope.admin):
        raise Forbidden("an agency reads its own checks; administrators read every agency's")
    if agency is None and not principal.has(Scope.admin):
        agency = principal.agency_code
    query = select(Check)
    if agency is not None:
        query = query.where(Check.agency_code == agency)
    if identifier is not None:
        query = query.where(Check.identifier == identifier.strip().upper())
    if decision is not None:
        query = query.where(Check.decision == decision)
    if action is not None:
        query = query.where(Check.action == action)
    if since is not None:
        query = query.where(Check.checked_at >= since)
    if until is not None:
        query = query.where(Check.checked_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(
        session.scalars(query.order_by(Check.checked_at.desc(), Check.id).limit(limit).offset(offset))
    )
    outcomes: dict[uuid.UUID, str] = {}
    if page:
        rows = session.execute(
            select(CheckFeedback.check_id, CheckFeedback.outcome).where(
                column_in(session, CheckFeedback.check_id, [c.id for c in page])
            )
        )
        outcomes = {row.check_id: row.outcome for row in rows}
    items = [
        {
            "id": c.id,
            "identifier": c.identifier,
            "found": c.found,
            "action": c.action,
            "decision": c.decision,
            "reference": c.reference,
            "as_of": c.as_of,
            "agency": c.agency_code,
            "checked_at": c.checked_at,
            "feedback": outcomes.get(c.id),
        }
        for c in page
    ]
    return items, total


def decision_counts(
    session: Session, domains: set[str], since: datetime, until: datetime, with_clear: bool
) -> list[tuple[str | None, str, str, int]]:
    """(decisive domain, approver agency, decision, count) of checks in [since, until); `with_clear`
    adds the checks no domain decided (clear)."""
    from sqlalchemy import or_

    in_domains: Any = Check.decisive_domain.in_(domains)
    if with_clear:
        in_domains = or_(in_domains, Check.decisive_domain.is_(None))
    rows = session.execute(
        select(Check.decisive_domain, Check.agency_code, Check.decision, func.count())
        .where(in_domains, Check.checked_at >= since, Check.checked_at < until)
        .group_by(Check.decisive_domain, Check.agency_code, Check.decision)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def checks_after(
    session: Session,
    *,
    identifier: str | None,
    client_id: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Checks in time order after a (time, id) position, as the access log shows them."""
    query = select(Check)
    if identifier is not None:
        query = query.where(Check.identifier == identifier)
    if client_id is not None:
        query = query.where(Check.client_id == client_id)
    if after is not None:
        query = query.where(after_position(Check.checked_at, Check.id, after))
    rows = session.scalars(query.order_by(Check.checked_at, Check.id).limit(limit))
    return [
        {
            "id": row.id,
            "at": row.checked_at,
            "kind": "check",
            "what": "check",
            "client_id": row.client_id,
            "agency": row.agency_code,
            "action": row.action,
            "reference": row.reference,
            "subject_id": row.subject_id,
            "identifier": row.identifier,
            "decision": row.decision,
        }
        for row in rows
    ]
