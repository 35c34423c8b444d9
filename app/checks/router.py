"""Approver checks: one entity or a list of them, before acting; the check history and feedback.

The routes parse and authorize, then hand over to the one check pipeline (app.checks.flows).
"""

import uuid
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.auth.deps import CallerRoute, ChecksRead, ChecksWrite
from app.checks import flows, service
from app.checks.schemas import (
    MAX_BATCH,
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
from app.checks.store import CheckStore
from app.db import DbSession
from app.errors import pydantic_fields
from app.kit import bodies
from app.kit.clock import CHINA, end_of_day
from app.kit.dates import IsoDate
from app.kit.gcpause import no_gc_pauses
from app.rules.schemas import Action

router = APIRouter(tags=["checks"], route_class=CallerRoute)


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")


def _store(request: Request) -> CheckStore:
    store: CheckStore = request.app.state.checks
    return store


@router.post(
    "/v1/checks",
    response_model=None,
    responses={200: {"model": CheckOut, "description": "The decision, recorded, with its receipt"}},
    openapi_extra=bodies.declared(CheckIn),
)
async def check(request: Request, principal: ChecksWrite) -> Response:
    """Check one entity before acting: the decision, every measure that applies with its legal basis,
    every record in force behind it, and a signed receipt. The check is recorded. An identifier
    that fails its standard is a 422, never a decision."""
    # The body read here rather than by FastAPI: its body machinery was ~5 % of a check's time.
    body = await bodies.parse(request, CheckIn)
    answer = await flows.check_one(_store(request), principal, body)
    return _json(answer.json)


@router.post(
    "/v1/checks/batch",
    response_model=None,
    responses={200: {"model": CheckBatchOut, "description": "Each item's answer or refusal, in order"}},
    openapi_extra=bodies.declared(CheckBatchIn),
)
async def check_batch(request: Request, principal: ChecksWrite) -> Response:
    """Check up to 10,000 entities; results in the order asked, each recorded with its receipt. An
    item whose identifier fails its standard is answered with its index and the reason, the others
    as usual."""
    with no_gc_pauses():
        items = await _batch_items(request)
        results = await flows.check_batch(_store(request), principal, items)
        return _json(_joined(results))


def _joined(results: list[flows.Answered | flows.Refused]) -> bytes:
    """`{"results": [...]}` in one copy of the answers' bytes (a batch's answer is ~30 MB)."""
    parts: list[bytes | memoryview] = [b'{"results":[']
    for number, result in enumerate(results):
        if number:
            parts.append(b",")
        parts += result.parts
    parts.append(b"]}")
    return b"".join(parts)


class _RawBatch(BaseModel):
    """A batch's envelope, its items not yet read."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


async def _batch_items(request: Request) -> list[CheckIn | flows.Refused]:
    """The batch's items, read at once from the body's bytes when every one is valid; else one at a
    time, an item whose shape is wrong refused on its own (API.md: one bad item among 10,000 is
    that item's error, not the batch's). A body that is no batch at all is a 422 for the whole."""
    try:
        return list((await bodies.parse(request, CheckBatchIn)).items)
    except RequestValidationError as whole:
        try:
            raw = await bodies.parse(request, _RawBatch)
        except RequestValidationError:
            raise whole from None
    items: list[CheckIn | flows.Refused] = []
    for index, item in enumerate(raw.items):
        if not isinstance(item, dict):
            items.append(flows.Refused(index, 'each item must be an object: {"subject", "action", ...}'))
            continue
        try:  # as parsed from the body (re-encoding would turn 1e400 into null, or fail on 2**64)
            items.append(CheckIn.model_validate(item))
        except ValidationError as exc:
            why = "; ".join(f"{f['field']}: {f['detail']}" for f in pydantic_fields(exc.errors()))
            items.append(flows.Refused(index, why))
    return items


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
    from_: Annotated[IsoDate | None, Query(alias="from", description="First day (China time)")] = None,
    to: Annotated[IsoDate | None, Query(description="Last day (China time)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
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


@router.get("/v1/checks/{check_id:uuid}", response_model=StoredCheckOut)
def read_check(check_id: uuid.UUID, principal: ChecksRead, session: DbSession) -> Any:
    """A check as it was answered, with its receipt and the approver's feedback."""
    return service.stored_check(session, principal, check_id)


@router.post("/v1/checks/{check_id:uuid}/feedback", response_model=FeedbackOut)
def give_feedback(check_id: uuid.UUID, body: FeedbackIn, principal: ChecksWrite, session: DbSession) -> Any:
    """Report what the approver did after the check (惩戒反馈): once per check, by its own agency."""
    return service.give_feedback(session, principal, check_id, body)
