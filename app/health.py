"""Liveness, readiness, metrics and the public keys: what operators and verifiers poll."""

import time
from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

from app.catalog.calendar import calendar_horizon
from app.db import get_engine, get_read_engine
from app.errors import ServiceUnavailable
from app.keys import get_keyring
from app.migrate import current_revision, head_revision
from app.monitoring import delivery as webhooks
from app.records import repository as records

router = APIRouter(tags=["operations"])

RECORDS = Gauge("registry_records", "Records by status (recounted at most every RECOUNT_SECONDS)", ["status"])
CALENDAR_AHEAD = Gauge(
    "registry_calendar_days_known_ahead",
    "Days from today to the last day the working-day calendar knows (below 60: load next year's schedule)",
)
RECOUNT_SECONDS = 30.0
_last_recount = -RECOUNT_SECONDS


# TypedDicts, not models: the answers are documented exactly at the cost of a plain dict's check.
class Health(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    status: Literal["ready"]
    database: Literal["ok"]
    migration: str | None


class PublicKey(TypedDict):
    """A JSON Web Key (RFC 7517), EC P-256, for ES256 signatures (RFC 7518)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    alg: Literal["ES256"]
    use: Literal["sig"]


class KeySet(TypedDict):
    keys: list[PublicKey]


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up (nothing else is checked). async: answered on the event loop, without the
    thread pool, so it stays up when the pool is busy; also the benchmarks' bare-framework figure."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> Readiness:
    """The database answers and carries the newest migration: ready for traffic."""
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = current_revision(connection)
    except Exception as exc:  # any driver error means "not ready", with its reason
        raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from None
    head = head_revision()
    if revision != head:
        raise ServiceUnavailable(f"database at migration {revision}, expected {head}")
    return {"status": "ready", "database": "ok", "migration": revision}


def _recount_records() -> None:
    """One GROUP BY on the read engine, not one per scrape: scrapes come every few seconds. The
    calendar's loaded years (a handful of rows) are read along with it."""
    global _last_recount
    if time.monotonic() - _last_recount < RECOUNT_SECONDS:
        return
    with get_read_engine().connect() as connection:
        counts = records.status_counts(connection)
        _, ahead = calendar_horizon(connection)
    for status in ("active", "repaired", "expired", "revoked"):
        RECORDS.labels(status=status).set(counts.get(status, 0))
    CALENDAR_AHEAD.set(ahead)
    _last_recount = time.monotonic()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    _recount_records()
    webhooks.refresh_gauges()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/jwks.json")
def jwks() -> KeySet:
    """Public keys (ES256) that verify receipts, reports and access tokens offline."""
    return get_keyring().jwks()  # type: ignore[return-value]
