import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from app.audit import access
from app.auth.deps import FeedRead
from app.db import DbSession
from app.errors import NotFound
from app.exchange import extracts
from app.exchange.errors import ExtractUnavailable
from app.exchange.models import Extract
from app.exchange.schemas import ExtractOut, Kind
from app.kit.dates import IsoDate

router = APIRouter(tags=["exchange"])

_FILE_HEADERS = {
    "Repr-Digest": {"description": "sha-256 of the file as served (RFC 9530)", "schema": {"type": "string"}},
    "X-Extract-Sha256": {"description": "The same digest in hex, as the manifest gives it"},
    "ETag": {"description": "The digest in hex"},
}


def _url(row: Extract) -> str:
    return f"/v1/extracts/{row.day.isoformat()}/{extracts.file_name(row.kind)}"


@router.get("/v1/extracts", response_model=list[ExtractOut])
def list_extracts(
    principal: FeedRead,
    session: DbSession,
    before: Annotated[IsoDate | None, Query(description="Only days before this one (the next page)")] = None,
    days: Annotated[
        int, Query(ge=1, le=366, description="How many days (each has a full extract and a delta)")
    ] = 30,
) -> Any:
    """The daily extracts of the records in force (public and shared; never restricted ones), newest
    day first: for each day its full extract and the delta since the day before, with the digests
    and the signed manifest. Page back with `before=<the last date you got>`."""
    return [
        {
            "date": row.day,
            "kind": row.kind,
            "count": row.count,
            "sha256": row.sha256,
            "ndjson_sha256": row.ndjson_sha256,
            "bytes": row.size,
            "previous": row.previous,
            "made_at": row.made_at,
            "url": _url(row),
            "manifest_url": f"/v1/extracts/{row.day.isoformat()}/manifest",
            "signature": row.manifest,
        }
        for row in extracts.listing(session, before, days)
    ]


@router.get(
    "/v1/extracts/{day}/{kind}.ndjson.gz",
    response_class=Response,
    responses={
        200: {
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
            "headers": _FILE_HEADERS,
        }
    },
)
def extract_file(day: IsoDate, kind: Kind, principal: FeedRead, session: DbSession) -> Response:
    """One extract: gzipped NDJSON, one record (full) or change (delta) per line, in id order. Its
    SHA-256 is in `Repr-Digest` and `X-Extract-Sha256`, and in the day's signed manifest."""
    row = extracts.find(session, day, kind)
    if row is None:
        raise NotFound(f"no {kind} extract of {day}")
    path = extracts.extracts_dir() / row.path
    if not path.is_file():
        raise ExtractUnavailable(
            f"the {kind} extract of {day} is missing from this server's extracts directory"
        )
    access.log(session, principal, "extract", reference=f"{day.isoformat()}/{kind}")
    digest = base64.b64encode(bytes.fromhex(row.sha256)).decode()
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"extract-{day.isoformat()}-{extracts.file_name(kind)}",
        headers={
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Extract-Sha256": row.sha256,
            "ETag": f'"{row.sha256}"',
            "Cache-Control": "private, max-age=86400",
        },
    )


@router.get(
    "/v1/extracts/{day}/manifest",
    response_class=Response,
    responses={200: {"content": {"application/jose": {"schema": {"type": "string"}}}}},
)
def extract_manifest(day: IsoDate, principal: FeedRead, session: DbSession) -> Response:
    """The day's manifest, a compact JWS (ES256, verifiable with /.well-known/jwks.json) over
    {"typ", "format", "date", "as_of", "made_at", "visibility", "files": [{"kind", "name", "count",
    "sha256", "ndjson_sha256", "bytes", "previous"?, "added"?, "changed"?, "removed"?}]}."""
    rows = extracts.rows_of(session, day)
    if not rows:
        raise NotFound(f"no extracts of {day}")
    return Response(rows[0].manifest, media_type="application/jose")
