"""Notices before listing: the agency notifies, finalizes or withdraws; the subject reads the notice
and states a defence by query code. And the repair notice every listing is served with."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.auth.deps import RecordsRead, RecordsWrite
from app.db import DbSession
from app.notices import repair_notice, service
from app.notices.schemas import (
    FinalizeIn,
    NoticeCreated,
    NoticeIn,
    NoticeOut,
    NoticePage,
    NoticeStatus,
    PublicNoticeOut,
    RepairNoticeOut,
    StatementIn,
    WithdrawIn,
)
from app.ratelimit import rate_limited
from app.records import queries
from app.records.schemas import RecordOut

router = APIRouter(tags=["records"])

QueryCode = Annotated[str, Path(min_length=8, max_length=40)]
# The public's routes share the public query's budget per client address (no account, no token).
RATE_LIMITED = [Depends(rate_limited)]


@router.post("/v1/notices", response_model=NoticeCreated, status_code=201)
def create_notice(body: NoticeIn, principal: RecordsWrite, session: DbSession) -> Any:
    """Tell the subject before a serious black listing (国办发〔2020〕49号 (八)): the record body as it
    would be pushed, validated as a push is, and until when the subject may state a defence. Serve the
    query code on the subject with the notice: it is shown only now."""
    created = service.create_notice(session, principal, body)
    notice = created.notice
    return {
        "id": notice.id,
        "query_code": created.query_code,
        "status": notice.status,
        "respond_by": notice.respond_by,
        "calendar_note": notice.calendar_note,
        "record": notice.body,
    }


@router.get("/v1/notices", response_model=NoticePage)
def list_notices(
    principal: RecordsRead,
    session: DbSession,
    status: Annotated[NoticeStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The agency's notices, newest first."""
    notices, total = service.list_notices(session, principal, status, limit, offset)
    return {
        "items": [service.notice_out(n) for n in notices],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/v1/notices/{notice_id}", response_model=NoticeOut)
def read_notice(notice_id: uuid.UUID, principal: RecordsRead, session: DbSession) -> Any:
    """One of the agency's notices, with the subject's statement if it gave one."""
    return service.notice_out(service.get_notice(session, principal, notice_id))


@router.post("/v1/notices/{notice_id}/finalize", response_model=RecordOut, status_code=201)
def finalize_notice(
    notice_id: uuid.UUID, principal: RecordsWrite, session: DbSession, body: FinalizeIn | None = None
) -> Any:
    """List the subject as notified: after `respond_by`, or once its statement was received and
    considered (`considered` then says how). The record carries `notice_id`."""
    record_id = service.finalize(session, principal, notice_id, body or FinalizeIn())
    return queries.record_out(queries.get_record(session, principal, record_id))


@router.post("/v1/notices/{notice_id}/withdraw", response_model=NoticeOut)
def withdraw_notice(
    notice_id: uuid.UUID, principal: RecordsWrite, session: DbSession, body: WithdrawIn | None = None
) -> Any:
    """The agency will not list the subject as notified."""
    return service.notice_out(service.withdraw(session, principal, notice_id, body or WithdrawIn()))


@router.get(
    "/v1/public/notices/{query_code}",
    response_model=PublicNoticeOut,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def public_notice(query_code: QueryCode, session: DbSession) -> Any:
    """The notice served on the subject: the reasons, the basis, its rights, and its statement if given."""
    return service.public_view(session, service.notice_by_code(session, query_code))


@router.post(
    "/v1/public/notices/{query_code}/statement",
    response_model=PublicNoticeOut,
    status_code=201,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def state_defence(query_code: QueryCode, body: StatementIn, session: DbSession) -> Any:
    """State a defence (陈述申辩), once, until `respond_by`."""
    return service.public_view(session, service.state_defence(session, query_code, body))


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/v1/records/{record_id:uuid}/repair-notice.json", response_model=RepairNoticeOut)
def repair_notice_json(
    record_id: uuid.UUID, principal: RecordsRead, session: DbSession, request: Request
) -> Any:
    """The repair notice (信用修复告知书) to serve with the listing decision ("两书同达"): the earliest
    repair date, the conditions, where to apply and where to look the listing up."""
    return repair_notice.repair_notice(session, principal, record_id, _base_url(request))


@router.get(
    "/v1/records/{record_id:uuid}/repair-notice.pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The repair notice (信用修复告知书) in Chinese",
        }
    },
)
def repair_notice_pdf(
    record_id: uuid.UUID, principal: RecordsRead, session: DbSession, request: Request
) -> Response:
    """The repair notice as a PDF in Chinese, to print or send with the decision."""
    notice = repair_notice.repair_notice(session, principal, record_id, _base_url(request))
    return Response(
        repair_notice.render_pdf(notice),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="repair-notice-{record_id}.pdf"'},
    )
