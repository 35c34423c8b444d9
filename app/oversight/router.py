"""Oversight for the credit office: who looked at what, and why."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.auth.deps import AuditRead
from app.db import DbSession
from app.oversight import service
from app.oversight.schemas import AccessLogOut

router = APIRouter(tags=["audit"])


@router.get("/v1/admin/access-log", response_model=AccessLogOut)
def access_log(
    principal: AuditRead,
    session: DbSession,
    request: Request,
    subject: Annotated[str | None, Query(max_length=64, description="A subject's identifier")] = None,
    client: Annotated[str | None, Query(max_length=64, description="An API client's id")] = None,
    after: Annotated[
        str | None, Query(max_length=100, description="The `cursor` of the last item you have")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 100,
) -> Any:
    """Every government-view read, every check and every watchlist's alert (a decision made for an
    agency, pushed to its webhook), oldest first: who (client and agency), what, why (the action)
    and the reader's reference. Filter by subject or by client."""
    items, cursor = service.access_log(
        session,
        identifier=subject,
        client_id=client,
        after=after,
        limit=limit,
        alerts=request.app.state.watchlist_alerts,
    )
    return {"items": items, "next": cursor}
