"""Repair and objection: the public opens and follows cases; the designating agency decides; a
rejected repair is appealed to the credit office. Each decision is a signed document (决定书)."""

import hashlib
import uuid
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from app.auth.deps import Admin, Caller
from app.auth.deps import CasesReview as AgencyReview
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.cases import decision_document, service
from app.cases.models import Case, CaseFile
from app.cases.schemas import (
    AppealCreated,
    AppealIn,
    CaseFileOut,
    CaseOut,
    CasePage,
    DecisionDocument,
    DecisionIn,
    ObjectionCreated,
    ObjectionIn,
    PublicCaseStatus,
    RepairCreated,
    RepairIn,
)
from app.db import DbSession
from app.errors import NotFound, ValidationFailed, errors_declared
from app.ratelimit import rate_limited

router = APIRouter(tags=["cases"])

QueryCode = Annotated[str, Query(min_length=8, max_length=40)]
# The public's routes share the public query's budget per client address (no account, no token).
RATE_LIMITED = [Depends(rate_limited)]
# Past any number of cases there can be; a larger offset overflowed the databases' integers.
MAX_OFFSET = 1_000_000_000
# Agencies review their own cases; the credit office (admin) reads all and decides appeals.
CasesReview = Annotated[Principal, Depends(Caller(Scope.cases_review, Scope.admin))]


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


def _appeal_status(appeal: Case) -> dict[str, Any]:
    return {
        "status": appeal.status,
        "submitted_at": appeal.submitted_at,
        "due_by": appeal.due_by,
        "decided_at": appeal.decided_at,
        "outcome": appeal.outcome,
        "decision_reason": service.public_reason(appeal),
    }


def _public_status(session: DbSession, case: Case) -> dict[str, Any]:
    appeal = service.appeal_of(session, case) if case.kind == "repair" else None
    return {
        "kind": case.kind,
        "status": case.status,
        "submitted_at": case.submitted_at,
        "due_by": case.due_by,
        "decided_at": case.decided_at,
        "outcome": case.outcome,
        "decision_reason": service.public_reason(case),
        "files": len(service.case_files(session, [case.id])[case.id]),
        "decision_available": case.decided_at is not None,
        "appeal_by": service.appeal_deadline(session, case) if case.status == "rejected" else None,
        "appeal": _appeal_status(appeal) if appeal is not None else None,
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


DECISION_JSON: dict[int | str, dict[str, Any]] = {
    200: {"model": DecisionDocument, "description": "The written decision, signed"}
}
DECISION_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The written decision in Chinese",
        "headers": {
            "X-Decision-Id": {
                "description": "The document's id (the case's id)",
                "schema": {"type": "string"},
            },
            "X-Decision-SHA256": {"description": "SHA-256 of the PDF", "schema": {"type": "string"}},
            "X-Decision-Signature": {
                "description": "ES256 compact JWS over the document id and the PDF's SHA-256 (JWKS)",
                "schema": {"type": "string"},
            },
        },
    }
}


def _decision_json(session: DbSession, case: Case) -> Response:
    document = decision_document.signed_json(service.decision_of(session, case))
    return Response(
        decision_document.canonical(document),
        media_type="application/json",
        headers={"X-Decision-Id": document["document_id"], "Cache-Control": "no-store"},
    )


def _decision_pdf(session: DbSession, case: Case) -> Response:
    document = service.decision_of(session, case)
    pdf = decision_document.render_pdf(document)
    sha256 = hashlib.sha256(pdf).hexdigest()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "X-Decision-Id": document["document_id"],
            "X-Decision-SHA256": sha256,
            "X-Decision-Signature": decision_document.sign(document, "pdf", sha256),
            "Content-Disposition": f'attachment; filename="decision-{document["document_id"]}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _appeal_or_404(session: DbSession, query_code: str) -> Case:
    appeal = service.appeal_of(session, service.case_by_query_code(session, query_code, "repair"))
    if appeal is None:
        raise NotFound("this repair has not been appealed")
    return appeal


@router.get(
    "/v1/public/repairs/{query_code}/decision.json",
    response_class=Response,
    responses=DECISION_JSON,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def repair_decision_json(query_code: str, session: DbSession) -> Response:
    """The written decision on a repair (信用修复决定书), once decided (404 before)."""
    return _decision_json(session, service.case_by_query_code(session, query_code, "repair"))


@router.get(
    "/v1/public/repairs/{query_code}/decision.pdf",
    response_class=Response,
    responses=DECISION_PDF,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def repair_decision_pdf(query_code: str, session: DbSession) -> Response:
    return _decision_pdf(session, service.case_by_query_code(session, query_code, "repair"))


@router.get(
    "/v1/public/objections/{query_code}/decision.json",
    response_class=Response,
    responses=DECISION_JSON,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def objection_decision_json(query_code: str, session: DbSession) -> Response:
    """The written answer to an objection (异议处理决定书), once decided (404 before)."""
    return _decision_json(session, service.case_by_query_code(session, query_code, "objection"))


@router.get(
    "/v1/public/objections/{query_code}/decision.pdf",
    response_class=Response,
    responses=DECISION_PDF,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def objection_decision_pdf(query_code: str, session: DbSession) -> Response:
    return _decision_pdf(session, service.case_by_query_code(session, query_code, "objection"))


@router.post(
    "/v1/public/repairs/{query_code}/appeal",
    response_model=AppealCreated,
    status_code=201,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def appeal_rejected_repair(query_code: str, body: AppealIn, session: DbSession) -> Any:
    """Appeal a rejected repair to the credit office, once, within 10 working days after the
    rejection (`appeal_by` in its status): past it → 422 `appeal_period_over`; a second appeal →
    409 `already_appealed`; a repair not rejected → 409 `case_not_appealable`."""
    repair = service.case_by_query_code(session, query_code, "repair")
    appeal = service.appeal(session, repair, body)
    return {"id": appeal.id, **_appeal_status(appeal)}


@router.get(
    "/v1/public/repairs/{query_code}/appeal/decision.json",
    response_class=Response,
    responses=DECISION_JSON,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def appeal_decision_json(query_code: str, session: DbSession) -> Response:
    """The credit office's written decision on the appeal (申诉复核决定书), once decided."""
    return _decision_json(session, _appeal_or_404(session, query_code))


@router.get(
    "/v1/public/repairs/{query_code}/appeal/decision.pdf",
    response_class=Response,
    responses=DECISION_PDF,
    tags=["public"],
    dependencies=RATE_LIMITED,
)
def appeal_decision_pdf(query_code: str, session: DbSession) -> Response:
    return _decision_pdf(session, _appeal_or_404(session, query_code))


async def _one_file(request: Request) -> None:
    """One file per request: of several parts named `file` only one would be stored, the others
    dropped without a word."""
    if len((await request.form()).getlist("file")) > 1:
        raise ValidationFailed.one("file", "send one file per request (several parts named file were sent)")


@router.post(
    "/v1/public/cases/{query_code}/files",
    response_model=CaseFileOut,
    status_code=201,
    tags=["public"],
    responses=errors_declared(413, 415),
    dependencies=[*RATE_LIMITED, Depends(_one_file)],
)
def add_evidence_file(query_code: str, session: DbSession, file: Annotated[UploadFile, File()]) -> Any:
    """Attach a PDF, JPEG or PNG of at most 5 MiB to an open case (10 files at most); to a rejected
    repair's pending appeal, with the repair's query code."""
    case = service.case_for_files(session, query_code)
    content = file.file.read(service.MAX_FILE_BYTES + 1)
    return service.add_file(session, case, file.filename or "", file.content_type or "", content)


def case_out(case: Case, files: list[CaseFile]) -> CaseOut:
    files_out = [CaseFileOut.model_validate(stored) for stored in files]
    return CaseOut.model_validate(case).model_copy(update={"files": files_out})


def _page(session: DbSession, cases: list[Case], total: int) -> dict[str, Any]:
    files = service.case_files(session, [case.id for case in cases])
    return {"items": [case_out(case, files[case.id]) for case in cases], "total": total}


@dataclass
class CaseFilters:
    kind: Annotated[Literal["repair", "objection", "appeal"] | None, Query()] = None
    status: Annotated[
        Literal["submitted", "approved", "rejected", "corrected", "revoked", "dismissed", "upheld"] | None,
        Query(),
    ] = None
    overdue: Annotated[bool, Query(description="Only open cases past their deadline")] = False
    limit: Annotated[int, Query(ge=1, le=500)] = 50
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0


Filters = Annotated[CaseFilters, Depends()]


@router.get("/v1/cases", response_model=CasePage)
def agency_cases(principal: AgencyReview, session: DbSession, filters: Filters) -> Any:
    """The cases on records this agency designated, oldest first (appeals of its rejections too,
    which the credit office decides)."""
    return _page(session, *service.list_cases(session, agency_code=principal.agency_code, **asdict(filters)))


@router.get("/v1/admin/cases", response_model=CasePage)
def all_cases(principal: Admin, session: DbSession, filters: Filters) -> Any:
    """Every agency's cases, for the credit office; `overdue=true` lists those past their deadline,
    `kind=appeal` the appeals it decides."""
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
    """The designating agency (`cases:review`) decides: repair approved/rejected; objection
    corrected/revoked/dismissed. The credit office (`admin`, of another agency) decides an appeal:
    upheld (the repair is granted) or dismissed."""
    case = service.decide(session, principal, case_id, body)
    return case_out(case, service.case_files(session, [case.id])[case.id])
