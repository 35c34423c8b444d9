"""The public one-stop query (no account, rate limited per client address): search, entity, reports."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import DbSession, ReadSession, session_scope
from app.errors import NotFound, ValidationFailed, errors_declared
from app.kit import bodies
from app.kit.clock import china_today
from app.kit.identifiers import looks_personal, typed_code, validate_uscc
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


# The public's most frequent question has a router of its own, without FastAPI's parameter and
# dependency machinery (~40 of ~290 µs of processor time a lookup, measured in process): it reads
# its key from the path and counts itself against the rate limit. Its key is declared to the
# OpenAPI document as FastAPI would have declared it.
lookup_router = APIRouter(tags=["public"])
_KEY_IN_PATH = {"in": "path", "name": "key", "required": True, "schema": {"type": "string", "title": "Key"}}


@lookup_router.get(
    "/v1/public/subjects/{key}", response_model=PublicSubjectOut, openapi_extra={"parameters": [_KEY_IN_PATH]}
)
async def public_subject(request: Request) -> Any:
    """An entity with its red and black records in public force, across all domains.

    `key` is the `ref` a search answered with, or an organisation's full identifier. A person is
    opened by `ref` only: by a resident identity number the answer is 404 whether or not that
    person is listed, as it is for an entity with nothing in public force.
    """
    await rate_limited(request)
    key = request.path_params["key"]
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


def public_origin(request: Request) -> str:
    """The origin printed in reports and links: REGISTRY_PUBLIC_BASE_URL (required in production),
    else the request's own (development and tests)."""
    return get_settings().public_base_url or str(request.base_url).rstrip("/")


def _pdf_download(report_id: str, pdf: bytes) -> Response:
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
    "/v1/public/subjects/{key}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": _BINARY}}, "headers": _REPORT_ID}},
)
def report_pdf(key: str, request: Request, session: DbSession) -> Response:
    """A credit report (信用报告) in Chinese, bearing a report id (also in X-Report-Id); `key` as for
    the entity (a person by `ref` only)."""
    subject = _subject_for_report(session, key)
    report_id, pdf = report.issue_pdf(session, subject, public_origin(request))
    return _pdf_download(report_id, pdf)


@router.get(
    "/v1/public/subjects/{key}/report.json",
    response_model=CreditReport,
    responses={200: {"headers": _REPORT_ID}},
)
def report_json(key: str, request: Request, session: DbSession) -> Response:
    """The same report for machines; `sha256` covers everything but itself and `signature`."""
    subject = _subject_for_report(session, key)
    document = report.issue_json(session, subject, public_origin(request))
    return FastJSON(document, headers={"X-Report-Id": document["report_id"], "Cache-Control": "no-store"})


@router.get("/v1/public/reports/{report_id}", response_model=ReportVerification)
def verify_report(
    report_id: str,
    session: DbSession,
    sha256: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-fA-F]{64}$",
            description="To check it is unchanged: a PDF file's SHA-256; for a JSON report, the `sha256` "
            "it carries (over the document without `sha256` and `signature`: POST the file itself to "
            "have it hashed here)",
        ),
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
    body = await bodies.read(request)
    if not body:
        raise ValidationFailed.one("body", "send the report file as the request body")
    # A JSON report naming a key twice is never genuine: two parsers may read different content.
    digest, problem = report.digest_of_file(body)
    return FastJSON(await run_in_threadpool(_verify_in_session, report_id, digest, problem))


def _verify_in_session(report_id: str, digest: str, problem: str | None) -> dict[str, Any]:
    with session_scope(writing=False) as session:
        return report.verify(session, report_id, digest, problem)


@router.get(
    "/v1/public/subjects/{key}/special-report.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": _BINARY}}, "headers": _REPORT_ID},
        **errors_declared(422),
    },
)
def special_report_pdf(
    key: str,
    request: Request,
    session: DbSession,
    domains: Annotated[
        str | None,
        Query(max_length=2000, description="Domain codes, comma-separated; all domains when absent"),
    ] = None,
    years: Annotated[
        int, Query(ge=1, le=report.SPECIAL_MAX_YEARS, description="How many years back (at most 5)")
    ] = report.SPECIAL_DEFAULT_YEARS,
) -> Response:
    """The 信用代证 special report of an organisation, by its unified social credit code: for each
    chosen domain, "no record in force" or its records decided in the period (repaired ones marked),
    verifiable like the credit report. An organisation with no record gets one too; a person's
    number, or anything that is not a valid code, is refused (422) and never confirms anyone."""
    identifier = typed_code(key)
    if looks_personal(identifier):
        raise ValidationFailed.one(
            "key", "special reports are for organisations, by their unified social credit code"
        )
    try:
        identifier = validate_uscc(identifier)
    except ValueError as exc:
        raise ValidationFailed.one("key", f"not a valid unified social credit code: {exc}") from None
    # Issuing writes the report's row: take SQLite's write lock up front like any writer.
    known = view.names(session.connection(execution_options={"sqlite_immediate": True})).domains
    if domains:
        codes = list(dict.fromkeys(code.strip() for code in domains.split(",") if code.strip()))
        unknown = [code for code in codes if code not in known]
        if unknown or not codes:
            raise ValidationFailed.one(
                "domains", f"unknown domain codes: {', '.join(unknown) or '(none given)'}"
            )
    else:
        codes = sorted(known)
    chosen = [(code, known[code]) for code in sorted(codes)]  # one order: the same request, one report
    report_id, pdf = report.issue_special(session, identifier, chosen, years, public_origin(request))
    return _pdf_download(report_id, pdf)
