"""The public one-stop query (no account, rate limited per client address): search, entity, reports."""

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.db import DbSession, ReadSession, session_scope
from app.errors import NotFound, ValidationFailed
from app.kit.clock import china_today
from app.kit.responses import FastJSON
from app.public import fastpath, report, search, view
from app.public.schemas import CreditReport, PublicSubjectOut, ReportVerification, SearchOut
from app.ratelimit import rate_limited

router = APIRouter(tags=["public"], dependencies=[Depends(rate_limited)])
# Outside the rate limit: the framework's own speed on this machine, the benchmark's yardstick.
bare_router = APIRouter(tags=["operations"])


@bare_router.get("/v1/public/ping", include_in_schema=False)
async def ping() -> dict[str, str]:
    """A bare async endpoint answering constant JSON (scripts/bench public measures against it)."""
    return {"status": "ok"}


# One sentence for every miss: unknown, nothing in public force, or a person asked for by number.
NOT_PUBLIC = "no subject with records in public force under that key"
_BINARY = {"type": "string", "format": "binary"}
_REPORT_ID = {"X-Report-Id": {"description": "The report's id, to verify it", "schema": {"type": "string"}}}


@router.get("/v1/public/search", response_model=SearchOut)
def public_search(
    session: ReadSession,
    q: Annotated[str, Query(min_length=1, max_length=100, description="An identifier, or part of a name")],
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 10,
) -> Any:
    """Find organisations by exact identifier, and anyone by name: substring, small typos, full/half
    width, company-suffix variants and pinyin (full or initials), best first. At most 20 answers.
    A resident identity number finds nothing: persons are found by name, and opened by `ref`."""
    return FastJSON(search.search(session.connection(), q, limit, china_today()))


@router.get("/v1/public/subjects/{key}", response_model=PublicSubjectOut)
async def public_subject(key: str, request: Request) -> Any:
    """An entity with its red and black records in public force, across all domains.

    `key` is the `ref` a search answered with, or an organisation's full identifier. A person is
    opened by `ref` only: by a resident identity number the answer is 404 whether or not that
    person is listed, as it is for an entity with nothing in public force.
    """
    today = china_today()
    subject = await fastpath.public_subject(request.app.state.read_pool, key, today)
    if subject is None:
        raise NotFound(NOT_PUBLIC)
    return FastJSON(subject.as_json(today))


def _subject_for_report(session: DbSession, key: str) -> view.PublicSubject:
    # Issuing writes the report's row: take SQLite's write lock up front like any writer.
    connection = session.connection(execution_options={"sqlite_immediate": True})
    subject = view.public_subject(connection, key, china_today())
    if subject is None:
        raise NotFound(NOT_PUBLIC)
    return subject


def _verify_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/v1/public/reports/"


@router.get(
    "/v1/public/subjects/{key}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": _BINARY}}, "headers": _REPORT_ID}},
)
def report_pdf(key: str, request: Request, session: DbSession) -> Response:
    """A credit report (信用报告) in Chinese, bearing a report id (also in X-Report-Id); `key` as for
    the entity (a person by `ref` only)."""
    subject = _subject_for_report(session, key)
    report_id, pdf = report.issue_pdf(session, subject, _verify_base(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "X-Report-Id": report_id,
            "Content-Disposition": f'attachment; filename="{report_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/public/subjects/{key}/report.json",
    response_model=CreditReport,
    responses={200: {"headers": _REPORT_ID}},
)
def report_json(key: str, request: Request, session: DbSession) -> Response:
    """The same report for machines; `sha256` covers everything but itself and `signature`."""
    subject = _subject_for_report(session, key)
    document = report.issue_json(session, subject, _verify_base(request))
    return FastJSON(document, headers={"X-Report-Id": document["report_id"], "Cache-Control": "no-store"})


@router.get("/v1/public/reports/{report_id}", response_model=ReportVerification)
def verify_report(
    report_id: str,
    session: DbSession,
    sha256: Annotated[
        str | None,
        Query(pattern="^[0-9a-fA-F]{64}$", description="The file's SHA-256, to check it is unchanged"),
    ] = None,
) -> Any:
    """Whether a report is genuine (issued here, signature valid); with `sha256`, whether it is unchanged."""
    return FastJSON(report.verify(session, report_id, sha256))


# The body is read as bytes: whatever was sent is hashed and compared with what was issued.
_REPORT_FILE = {
    "requestBody": {
        "required": True,
        "description": "The report file as it was downloaded: the PDF, or the JSON document",
        "content": {"application/pdf": {"schema": _BINARY}, "application/json": {"schema": {}}},
    }
}


@router.post(
    "/v1/public/reports/{report_id}/verify", response_model=ReportVerification, openapi_extra=_REPORT_FILE
)
async def verify_report_file(report_id: str, request: Request) -> Any:
    """Send the report's file (the PDF, or the JSON document) as the body: is it the one issued?"""
    body = await request.body()
    if not body:
        raise ValidationFailed.one("body", "send the report file as the request body")
    if body.lstrip().startswith(b"{"):
        try:
            digest = report.json_digest(orjson.loads(body))
        except orjson.JSONDecodeError:
            digest = hashlib.sha256(body).hexdigest()
    else:
        digest = hashlib.sha256(body).hexdigest()
    return FastJSON(await run_in_threadpool(_verify_in_session, report_id, digest))


def _verify_in_session(report_id: str, digest: str) -> dict[str, Any]:
    with session_scope(writing=False) as session:
        return report.verify(session, report_id, digest)
