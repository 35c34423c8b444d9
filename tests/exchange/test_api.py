"""GET /v1/extracts and its files, for any reader with records:read: newest first, paged by day,
files served with their digest, downloads logged as government-view reads."""

import base64
import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from app.audit.models import AccessEntry
from app.db import session_scope
from tests.conftest import POLICE, record_body
from tests.exchange.test_extracts import make, push


def _three_days(http, police, clock) -> None:
    for day, n in (("2026-11-18", 1), ("2026-11-19", 2), ("2026-11-20", 3)):
        clock(f"{day}T10:00")
        push(http, police, record_body(n))
        clock(f"{date.fromisoformat(day) + timedelta(days=1)}T00:05")
        make(day)


def test_extracts_are_listed_newest_first_a_page_of_days_at_a_time(http, police, token_for, clock):
    reader = token_for("zaozhuang.taxation", "records:read")
    _three_days(http, police, clock)
    page = http.get("/v1/extracts?days=2", headers=reader)
    assert page.status_code == 200, page.text
    assert [(item["date"], item["kind"], item["count"]) for item in page.json()] == [
        ("2026-11-20", "full", 3),
        ("2026-11-20", "delta", 1),
        ("2026-11-19", "full", 2),
        ("2026-11-19", "delta", 1),
    ]
    older = http.get("/v1/extracts?days=2&before=2026-11-19", headers=reader).json()
    assert [(item["date"], item["kind"], item["previous"]) for item in older] == [
        ("2026-11-18", "full", None)
    ]
    assert http.get("/v1/extracts?before=2026-11-18", headers=reader).json() == []


def test_a_file_is_served_with_its_digest_and_the_download_is_logged(http, police, token_for, clock):
    reader = token_for("zaozhuang.taxation", "records:read")
    _three_days(http, police, clock)
    item = http.get("/v1/extracts?days=1", headers=reader).json()[1]
    served = http.get(item["url"], headers=reader)
    assert served.status_code == 200
    digest = hashlib.sha256(served.content).digest()
    assert served.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert served.headers["x-extract-sha256"] == digest.hex() == item["sha256"]
    assert 'filename="extract-2026-11-20-delta.ndjson.gz"' in served.headers["content-disposition"]
    with session_scope(writing=False) as session:
        logged = session.scalars(select(AccessEntry).where(AccessEntry.what == "extract")).all()
        assert [(entry.reference, entry.agency_code) for entry in logged] == [
            ("2026-11-20/delta", "zaozhuang.taxation")
        ]


def test_unknown_days_kinds_and_missing_files(http, police, token_for, clock, no_extracts_left):
    reader = token_for(POLICE, "records:read")
    _three_days(http, police, clock)
    assert http.get("/v1/extracts/2026-11-17/full.ndjson.gz", headers=reader).status_code == 404
    assert http.get("/v1/extracts/2026-11-17/manifest", headers=reader).status_code == 404
    assert http.get("/v1/extracts/2026-11-18/delta.ndjson.gz", headers=reader).status_code == 404  # the first
    assert http.get("/v1/extracts/2026-11-18/other.ndjson.gz", headers=reader).status_code == 422
    assert http.get("/v1/extracts/yesterday/manifest", headers=reader).status_code == 422
    (no_extracts_left / "2026-11-19" / "full.ndjson.gz").unlink()
    gone = http.get("/v1/extracts/2026-11-19/full.ndjson.gz", headers=reader)
    assert gone.status_code == 503 and gone.json()["error"] == "extract_unavailable"


def test_a_writer_without_records_read_may_not_read_extracts(http, token_for):
    writer = token_for(POLICE, "records:write")
    assert http.get("/v1/extracts", headers=writer).status_code == 403
