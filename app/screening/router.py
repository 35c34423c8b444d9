"""Screening by name: approvers asking about a counterparty they know only by name."""

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from app.auth.deps import ChecksRead, ChecksWrite
from app.db import DbSession
from app.screening import service
from app.screening.schemas import ScreenIn, ScreeningPage, ScreenOut, StoredScreeningOut

router = APIRouter(tags=["checks"])


@router.post(
    "/v1/screen",
    response_model=None,
    responses={200: {"model": ScreenOut, "description": "The candidates, logged, with the receipt"}},
)
def screen(body: ScreenIn, principal: ChecksWrite, session: DbSession) -> Response:
    """Screen a counterparty by name, for entities without a code (or whose code the approver does
    not have): listed subjects whose names are alike, best first, each with a score in [0, 1], what
    matched (exact name, former name, spelling or suffix variant, missing place, pinyin, homophone,
    birth date for persons) and its records in force as a check shows them. A score at or above
    `threshold` (0.8) is a match. The screening is logged and receipted like a check. A name of
    fewer than two characters (not counting its legal form) is a 422."""
    return Response(service.screen(session, principal, body), media_type="application/json")


@router.get(
    "/v1/screenings/{screening_id:uuid}",
    response_model=None,
    responses={200: {"model": StoredScreeningOut, "description": "The screening as it was answered"}},
)
def read_screening(screening_id: uuid.UUID, principal: ChecksRead, session: DbSession) -> Response:
    """A screening as it was answered, with its receipt (the approver's own agency, or administrators)."""
    stored = service.stored_screening(session, principal, screening_id)
    return Response(orjson.dumps(stored), media_type="application/json")


@router.get("/v1/screenings", response_model=ScreeningPage)
def list_screenings(
    principal: ChecksRead,
    session: DbSession,
    agency: Annotated[str | None, Query(max_length=96, description="Administrators: one agency's")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Any:
    """The agency's own screenings, newest first (administrators: any agency's)."""
    items, total = service.list_screenings(session, principal, agency, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
