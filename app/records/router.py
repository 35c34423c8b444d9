import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from app.audit import access
from app.auth.deps import Admin, FeedRead, RecordsRead, RecordsWrite, SubjectsRead
from app.db import DbSession, ReadSession, session_scope
from app.errors import PreconditionRequired, RegistryError, ValidationFailed, errors_declared
from app.kit.clock import china_today
from app.kit.dates import IsoDate
from app.kit.text import printable
from app.records import changes, ingest, lifecycle, merge, publicity, queries
from app.records.schemas import (
    MAX_BATCH,
    BatchIn,
    BatchOut,
    ChangesOut,
    ExitIn,
    MergeIn,
    MergeOut,
    PublicityPolicyIn,
    PublicityPolicyOut,
    RecordCorrection,
    RecordEventOut,
    RecordIn,
    RecordOut,
    RecordPage,
    RevokeIn,
    Severity,
    Status,
    SubjectRecordsOut,
)

router = APIRouter(tags=["records"])

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post(
    "/v1/records",
    response_model=RecordOut,
    status_code=201,
    responses={200: {"model": RecordOut, "description": "Unchanged: the same content was stored before"}},
)
def push_record(body: RecordIn, principal: RecordsWrite, session: DbSession, response: Response) -> Any:
    """Push one record. The same external_id with the same content answers 200 with the stored record."""
    (outcome,) = ingest.ingest(session, principal, [body])
    if outcome.error is not None:
        raise outcome.error
    if outcome.status == "unchanged":
        response.status_code = 200
    assert outcome.id is not None
    record = queries.get_record(session, principal, outcome.id)
    _etag(response, record.version)
    return queries.record_out(record)


@router.post("/v1/records/batch", response_model=BatchOut)
def push_batch(body: BatchIn, principal: RecordsWrite, session: DbSession) -> Any:
    """Push up to 10,000 records; each bad item is reported by index and the good ones are stored."""
    if not body.records:
        raise ValidationFailed.one("records", f"give between 1 and {MAX_BATCH} records")
    outcomes = ingest.ingest(session, principal, body.records)
    results = [_batch_item(outcome) for outcome in outcomes]
    return {
        "created": sum(1 for outcome in outcomes if outcome.status == "created"),
        "unchanged": sum(1 for outcome in outcomes if outcome.status == "unchanged"),
        "errors": sum(1 for outcome in outcomes if outcome.status == "error"),
        "results": results,
    }


def _batch_item(outcome: ingest.Outcome) -> dict[str, Any]:
    item: dict[str, Any] = {"index": outcome.index, "status": outcome.status}
    if outcome.id is not None:
        item["id"] = outcome.id
    if outcome.error is not None:
        error: RegistryError = outcome.error
        item |= {"error": error.code, "detail": error.detail}
        if "fields" in error.extra:
            item["fields"] = error.extra["fields"]
    return item


@router.get("/v1/records", response_model=RecordPage)
def list_records(
    principal: RecordsRead,
    session: DbSession,
    agency: Annotated[str | None, Query(description="Agency code; default: the caller's own")] = None,
    domain: Annotated[str | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Any:
    """An agency's records, newest first, a page at a time."""
    items, total = queries.list_records(
        session, principal, agency=agency, domain=domain, status=status, limit=limit, offset=offset
    )
    access.log_records(session, principal, "records", [(item["subject"]["id"], item["id"]) for item in items])
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/v1/records/{record_id:uuid}", response_model=RecordOut)
def read_record(record_id: uuid.UUID, principal: RecordsRead, session: DbSession, response: Response) -> Any:
    record = queries.get_record(session, principal, record_id)
    access.log(session, principal, "record", record_id=record.id, subject_id=record.subject_id)
    _etag(response, record.version)
    return queries.record_out(record)


@router.patch("/v1/records/{record_id:uuid}", response_model=RecordOut, responses=errors_declared(412, 428))
def correct_record(
    record_id: uuid.UUID,
    patch: RecordCorrection,
    principal: RecordsWrite,
    session: DbSession,
    response: Response,
    if_match: Annotated[str | None, Header(description="The record's current version, from its ETag")] = None,
) -> Any:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the version you are correcting (the record's ETag)")
    match = _IF_MATCH.match(if_match)
    if match is None:
        raise ValidationFailed.one("If-Match", 'must be the record\'s version number, e.g. "3"')
    record = lifecycle.patch_record(session, principal, record_id, patch, int(match.group(1)))
    _etag(response, record.version)
    return queries.record_out(record)


@router.post("/v1/records/{record_id:uuid}/revoke", response_model=RecordOut)
def revoke_record(record_id: uuid.UUID, body: RevokeIn, principal: RecordsWrite, session: DbSession) -> Any:
    """The designating agency withdraws a record (its decision was overturned): it exits at once."""
    return queries.record_out(lifecycle.revoke_record(session, principal, record_id, body))


@router.post("/v1/records/{record_id:uuid}/exit", response_model=RecordOut)
def exit_listing(record_id: uuid.UUID, body: ExitIn, principal: RecordsWrite, session: DbSession) -> Any:
    """A court takes a debtor off its list: the debt was performed, settled, or another lawful reason
    (法释〔2017〕7号 第十条). The record exits at once (status `exited`); `exit_sync_by` says by when
    other platforms must have taken it down (3 working days)."""
    return queries.record_out(lifecycle.exit_listing(session, principal, record_id, body))


@router.get("/v1/subjects/{identifier}", response_model=SubjectRecordsOut)
def subject_records(
    identifier: str,
    principal: SubjectsRead,
    session: DbSession,
    as_of: Annotated[
        IsoDate | None, Query(description="Answer as the registry stood at the end of this day")
    ] = None,
    action: Annotated[
        str | None,
        Query(pattern=r"^[a-z][a-z_]{1,31}$", description="Why you look: the action you are about to take"),
    ] = None,
    reference: Annotated[
        str | None, Query(max_length=200, description="Your own case or application number")
    ] = None,
) -> Any:
    """The government view of one subject: every record about it, current or exited. The read is
    logged with who asked, and the action and reference given (国办发〔2020〕49号)."""
    if reference:
        try:
            printable(reference)
        except ValueError as exc:
            raise ValidationFailed.one("reference", str(exc)) from None
    if as_of is not None and as_of > china_today():
        # As a check refuses it: a day still to come has no registry to answer from.
        raise ValidationFailed.one("as_of", f"{as_of} is after today ({china_today()})")
    subject, names, records, related_to = queries.subject_with_records(session, principal, identifier, as_of)
    access.log(
        session,
        principal,
        "subject",
        action=action,
        reference=reference or None,
        subject_id=subject["id"],
        identifier=subject["identifier"],
    )
    return {"subject": subject, "names": names, "records": records, "related_to": related_to}


@router.get("/v1/changes", response_model=ChangesOut)
def record_changes(
    principal: FeedRead,
    session: ReadSession,
    after: Annotated[
        str, Query(pattern=r"^\d{1,18}$", description="The cursor of the last change you have")
    ] = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Every change to every record the caller may see, in order; poll with `after=<next>` to stay in
    sync. Another agency's restricted records are not shown; a record that becomes restricted is
    announced once as `record.withdrawn`."""
    items, last = changes.changes(session, principal, int(after), limit)
    with session_scope() as primary:  # the feed may be read from a replica; the log is written here
        access.log(primary, principal, "changes")
    return {"items": items, "next": str(last)}


@router.get("/v1/records/{record_id:uuid}/history", response_model=list[RecordEventOut])
def record_history(record_id: uuid.UUID, principal: RecordsRead, session: DbSession) -> Any:
    """Everything that happened to a record: listed, corrected, objections, repairs, exit and why."""
    history = queries.record_history(session, principal, record_id)
    subject_id = queries.get_record(session, principal, record_id).subject_id
    access.log(session, principal, "history", record_id=record_id, subject_id=subject_id)
    return history


@router.get("/v1/admin/publicity", response_model=list[PublicityPolicyOut], tags=["administration"])
def publicity_periods(principal: Admin, session: DbSession) -> Any:
    """The publicity periods in force for every domain and severity, and where each comes from."""
    return publicity.publicity_table(session)


@router.put(
    "/v1/admin/publicity/{domain}/{severity}", response_model=PublicityPolicyOut, tags=["administration"]
)
def set_publicity_period(
    domain: str, severity: Severity, body: PublicityPolicyIn, principal: Admin, session: DbSession
) -> Any:
    """Replace the default periods of one domain and severity (new pushes follow it)."""
    policy = publicity.PublicityPolicy(**body.model_dump())
    return publicity.set_publicity(session, principal.actor, domain, severity, policy)


@router.delete(
    "/v1/admin/publicity/{domain}/{severity}", response_model=PublicityPolicyOut, tags=["administration"]
)
def reset_publicity_period(domain: str, severity: Severity, principal: Admin, session: DbSession) -> Any:
    """Go back to the defaults of the rules (国办发〔2025〕22号) for this domain and severity."""
    return publicity.set_publicity(session, principal.actor, domain, severity, None)


@router.post(
    "/v1/admin/subjects/merge",
    response_model=MergeOut,
    response_model_by_alias=True,
    tags=["administration"],
    responses=errors_declared(404, 409),
)
def merge_subjects(body: MergeIn, principal: Admin, session: DbSession) -> Any:
    """Merge a subject (`from`) found to be the same entity as another (`into`): its records and the
    records naming it as a related party move to `into`, and its identifier leads there. Audited,
    with every record's history; undone with POST /v1/admin/merges/{id}/undo. Into itself, or across
    kinds: 422."""
    row = merge.merge(session, principal.actor, body.source, body.into, body.reason)
    return merge.merge_out(session, row)


@router.post(
    "/v1/admin/merges/{merge_id:uuid}/undo",
    response_model=MergeOut,
    response_model_by_alias=True,
    tags=["administration"],
    responses=errors_declared(404, 409),
)
def undo_merge(merge_id: uuid.UUID, principal: Admin, session: DbSession) -> Any:
    """Undo a merge: exactly what it moved moves back (records pushed since stay where they were)."""
    return merge.merge_out(session, merge.undo(session, principal.actor, merge_id))
