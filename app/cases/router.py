"""Repair and objection: the public opens and follows cases; the designating agency decides."""

import uuid
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile

from app.auth.deps import Admin, CasesReview
from app.cases import service
from app.cases.models import Case, CaseFile
from app.cases.schemas import (
    CaseFileOut,
    CaseOut,
    CasePage,
    DecisionIn,
    ObjectionCreated,
    ObjectionIn,
    PublicCaseStatus,
    RepairCreated,
    RepairIn,
)
from app.db import DbSession
from app.errors import NotFound
from app.kit.clock import china_today
from app.openapi import errors_declared
from app.ratelimit import rate_limited

router = APIRouter(tags=["cases"])

QueryCode = Annotated[str, Query(min_length=8, max_length=40)]
# The public's routes share the public query's budget per client address (no account, no token).
RATE_LIMITED = [Depends(rate_limited)]
# Past any number of cases there can be; a larger offset overflowed the databases' integers.
MAX_OFFSET = 1_000_000_000


@router.post(
    "/v1/public/repairs",
    response_model=RepairCreated,
    status_code=201,
    tags=["public"],
    responses=errors_declared(404),
    dependencies=RATE_LIMITED,
)
def apply_for_repair(body: RepairIn, session: DbSession) -> Any:
    """Apply for credit repair (信用修复). Keep the query code: it is shown only now."""
    opened = service.apply_for_repair(session, body)
    return {
        "id": opened.case.id,
        "query_code": opened.query_code,
        "status": opened.case.status,
        "decide_by": opened.case.due_by,
        "calendar_note": opened.case.calendar_note,
    }


@router.post(
    "/v1/public/objections",
    response_model=ObjectionCreated,
    status_code=201,
    tags=["public"],
    responses=errors_declared(404),
    dependencies=RATE_LIMITED,
)
def raise_objection(body: ObjectionIn, session: DbSession) -> Any:
    """Dispute a record (异议). The record is flagged until its agency answers."""
    opened = service.raise_objection(session, body)
    return {
        "id": opened.case.id,
        "query_code": opened.query_code,
        "status": opened.case.status,
        "respond_by": opened.case.due_by,
        "calendar_note": opened.case.calendar_note,
    }


def _public_status(session: DbSession, case: Case) -> dict[str, Any]:
    return {
        "kind": case.kind,
        "status": case.status,
        "submitted_at": case.submitted_at,
        "due_by": case.due_by,
        "decided_at": case.decided_at,
        "outcome": case.outcome,
        "decision_reason": case.decision_reason,
        "files": len(service.case_files(session, [case.id])[case.id]),
    }


@router.get(
    "/v1/public/repairs/{query_code}",
    response_model=PublicCaseStatus,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def repair_progress(query_code: str, session: DbSession) -> Any:
    return _public_status(session, service.case_by_query_code(session, query_code, "repair"))


@router.get(
    "/v1/public/objections/{query_code}",
    response_model=PublicCaseStatus,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def objection_progress(query_code: str, session: DbSession) -> Any:
    return _public_status(session, service.case_by_query_code(session, query_code, "objection"))


@router.post(
    "/v1/public/cases/{query_code}/files",
    response_model=CaseFileOut,
    status_code=201,
    tags=["public"],
    responses=errors_declared(413, 415),
    dependencies=RATE_LIMITED,
)
def add_evidence_file(query_code: str, session: DbSession, file: Annotated[UploadFile, File()]) -> Any:
    """Attach a PDF, JPEG or PNG of at most 5 MiB to an open case (10 files at most)."""
    case = service.case_by_query_code(session, query_code)
    content = file.file.read(service.MAX_FILE_BYTES + 1)
    return service.add_file(session, case, file.filename or "", file.content_type or "", content)


def case_out(case: Case, files: list[CaseFile]) -> dict[str, Any]:
    return {
        "id": case.id,
        "kind": case.kind,
        "record_id": case.record_id,
        "agency": case.agency_code,
        "status": case.status,
        # Who asked, for both kinds: the agency answers the applicant of an objection too (an objector
        # may leave the name out; the contact is always given).
        "applicant": {"name": case.applicant_name or None, "contact": case.contact},
        "contact": case.contact,
        "reason": case.reason,
        "statement": case.statement,
        "commitment": case.commitment,
        "evidence": case.evidence,
        "files": files,
        "submitted_at": case.submitted_at,
        "due_by": case.due_by,
        "overdue": case.status == "submitted" and case.due_by is not None and case.due_by < china_today(),
        "decided_at": case.decided_at,
        "outcome": case.outcome,
        "decision_reason": case.decision_reason,
        "decided_by": case.decided_by,
    }


def _page(session: DbSession, cases: list[Case], total: int) -> dict[str, Any]:
    files = service.case_files(session, [case.id for case in cases])
    return {"items": [case_out(case, files[case.id]) for case in cases], "total": total}


@dataclass
class CaseFilters:
    kind: Annotated[Literal["repair", "objection"] | None, Query()] = None
    status: Annotated[
        Literal["submitted", "approved", "rejected", "corrected", "revoked", "dismissed"] | None, Query()
    ] = None
    overdue: Annotated[bool, Query(description="Only open cases past their deadline")] = False
    limit: Annotated[int, Query(ge=1, le=500)] = 50
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0


Filters = Annotated[CaseFilters, Depends()]


@router.get("/v1/cases", response_model=CasePage)
def agency_cases(principal: CasesReview, session: DbSession, filters: Filters) -> Any:
    """The cases on records this agency designated, oldest first."""
    return _page(session, *service.list_cases(session, agency_code=principal.agency_code, **asdict(filters)))


@router.get("/v1/admin/cases", response_model=CasePage)
def all_cases(principal: Admin, session: DbSession, filters: Filters) -> Any:
    """Every agency's cases, for the credit office; `overdue=true` lists those past their deadline."""
    return _page(session, *service.list_cases(session, agency_code=None, **asdict(filters)))


@router.get("/v1/cases/{case_id}", response_model=CaseOut)
def read_case(case_id: uuid.UUID, principal: CasesReview, session: DbSession) -> Any:
    case = service.get_case(session, principal, case_id)
    return case_out(case, service.case_files(session, [case.id])[case.id])


_EVIDENCE_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as it was uploaded",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in service.FILE_SIGNATURES
        },
    }
}


@router.get("/v1/cases/{case_id}/files/{file_id}", response_class=Response, responses=_EVIDENCE_FILE)
def download_evidence(
    case_id: uuid.UUID, file_id: uuid.UUID, principal: CasesReview, session: DbSession
) -> Response:
    case = service.get_case(session, principal, case_id)
    stored = next((f for f in service.case_files(session, [case.id])[case.id] if f.id == file_id), None)
    if stored is None:
        raise NotFound(f"no file {file_id} in case {case_id}")
    return Response(
        stored.content,
        media_type=stored.content_type,
        headers={"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/v1/cases/{case_id}/decision", response_model=CaseOut)
def decide_case(case_id: uuid.UUID, body: DecisionIn, principal: CasesReview, session: DbSession) -> Any:
    """The designating agency decides: repair approved/rejected; objection corrected/revoked/dismissed."""
    case = service.decide(session, principal, case_id, body)
    return case_out(case, service.case_files(session, [case.id])[case.id])
