"""Approver checks: one entity or a list of them, before acting; the check history and feedback.

The two check routes are the registry's hot path. A single check on PostgreSQL runs in the event loop
over async connections (app.checks.fastpath: a read and a COPY, each shared by the checks running at
once, no thread hop); otherwise the whole transaction (read, decide, sign, record) runs in one worker
thread, shared by the single checks that arrive meanwhile, so the event loop never waits on the
database.
"""

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.auth.deps import ChecksRead, ChecksWrite
from app.auth.service import Principal
from app.checks import fastpath, service
from app.checks.schemas import (
    CheckBatchIn,
    CheckBatchOut,
    CheckIn,
    CheckOut,
    CheckPage,
    Decision,
    FeedbackIn,
    FeedbackOut,
    StoredCheckOut,
)
from app.db import DbSession, session_scope
from app.kit import bodies
from app.kit.clock import CHINA, china_today
from app.kit.coalesce import Coalescer
from app.kit.gcpause import no_gc_pauses
from app.kit.observe import CHECKS
from app.kit.responses import FastJSON
from app.records.history import end_of_day
from app.rules.schemas import Action

router = APIRouter(tags=["checks"])


def _checks_in_transaction(asked: list[tuple[Principal, CheckIn]]) -> list[service.Answered]:
    """Each check answered for the principal that asked it, all recorded in one transaction."""
    answers: list[service.Answered | None] = [None] * len(asked)
    by_principal: dict[Principal, list[int]] = defaultdict(list)
    for position, (principal, _) in enumerate(asked):
        by_principal[principal].append(position)
    with session_scope() as session:
        for principal, positions in by_principal.items():
            answered = service.run_checks(session, principal, [asked[where][1] for where in positions])
            for position, answer in zip(positions, answered, strict=True):
                answers[position] = answer
    done = [answer for answer in answers if answer is not None]
    for decision, count in Counter(answer.decision for answer in done).items():  # once stored
        CHECKS.labels(decision).inc(count)
    return done


async def _checks_in_a_thread(asked: list[tuple[Principal, CheckIn]]) -> list[service.Answered]:
    return await run_in_threadpool(_checks_in_transaction, asked)


# Single checks off the fast path (SQLite, an as-of day, a cold rule-set cache) that arrive while
# others are being answered go together in the next transaction: one thread hop and one commit for
# all of them (app.kit.coalesce). Each is checked for what could refuse it before it joins, so that
# one caller's bad input never fails the others.
_general_checks = Coalescer(_checks_in_a_thread)


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")


@router.post("/v1/checks", response_model=CheckOut, response_class=FastJSON)
async def check(body: CheckIn, principal: ChecksWrite) -> Any:
    """Check one entity before acting: the decision, every measure that applies with its legal basis
    and the records behind it, and a signed receipt. The check is recorded."""
    # Refused here, before the check can join others (app.kit.coalesce) on either path.
    service.refuse_future([body], china_today())
    fast = fastpath.async_checks()
    answer = await fast.check(principal, body) if fast is not None else None
    if answer is None:
        answer = await _general_checks.submit((principal, body))
    else:
        CHECKS.labels(answer.decision).inc()
    return _json(answer.json)


@router.post(
    "/v1/checks/batch",
    response_model=CheckBatchOut,
    response_class=FastJSON,
    openapi_extra=bodies.declared(CheckBatchIn),
)
async def check_batch(request: Request, principal: ChecksWrite) -> Any:
    """Check up to 10,000 entities; results in the order asked, each recorded with its receipt. One
    bad item refuses the whole batch (422 naming it) and nothing is recorded."""
    with no_gc_pauses():
        body = await bodies.parse(request, CheckBatchIn)
        asked = [(principal, item) for item in body.items]
        answers = await run_in_threadpool(_checks_in_transaction, asked)
        return _json(b'{"results":[' + b",".join(answer.json for answer in answers) + b"]}")


@router.get("/v1/checks", response_model=CheckPage)
def list_checks(
    principal: ChecksRead,
    session: DbSession,
    agency: Annotated[
        str | None, Query(description="Administrators: an agency's checks; default all")
    ] = None,
    identifier: Annotated[str | None, Query(max_length=64)] = None,
    decision: Annotated[Decision | None, Query()] = None,
    action: Annotated[Action | None, Query()] = None,
    from_: Annotated[date | None, Query(alias="from", description="First day (China time)")] = None,
    to: Annotated[date | None, Query(description="Last day (China time)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The agency's own checks, newest first (administrators: any agency's)."""
    since = datetime.combine(from_, time.min, tzinfo=CHINA) if from_ else None
    until = end_of_day(to) if to else None
    items, total = service.list_checks(
        session,
        principal,
        agency=agency,
        identifier=identifier,
        decision=decision,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/v1/checks/{check_id}", response_model=StoredCheckOut)
def read_check(check_id: uuid.UUID, principal: ChecksRead, session: DbSession) -> Any:
    """A check as it was answered, with its receipt and the approver's feedback."""
    return service.stored_check(session, principal, check_id)


@router.post("/v1/checks/{check_id}/feedback", response_model=FeedbackOut)
def give_feedback(check_id: uuid.UUID, body: FeedbackIn, principal: ChecksWrite, session: DbSession) -> Any:
    """Report what the approver did after the check (惩戒反馈): once per check, by its own agency."""
    return service.feedback_out(service.give_feedback(session, principal, check_id, body))
