"""Races on a real server, many requests at once: the cap of 10 evidence files per case holds, and a
case is decided once."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.cases.models import CaseFile
from app.db import session_scope
from tests.cases.test_repair import PNG, _listed, _repair
from tests.ops.servers import registry_serve


def _at_once(count: int, send: Callable[[str, int], httpx.Response]) -> list[int]:
    """`count` requests to a real server, released together; their statuses."""
    at_once = threading.Barrier(count)
    with registry_serve() as base:

        def one(n: int) -> int:
            at_once.wait()
            return send(base, n).status_code

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, range(count)))


def test_twenty_uploads_at_once_store_ten(http, police, clock):
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    code = http.post("/v1/public/repairs", json=_repair(record["id"])).json()["query_code"]

    def upload(base: str, n: int) -> httpx.Response:
        files = {"file": (f"receipt-{n}.png", PNG, "image/png")}
        return httpx.post(f"{base}/v1/public/cases/{code}/files", files=files, timeout=60)

    statuses = _at_once(20, upload)
    assert sorted(statuses) == [201] * 10 + [422] * 10, statuses
    with session_scope(writing=False) as session:
        assert session.scalar(select(func.count()).select_from(CaseFile)) == 10


def test_ten_decisions_at_once_decide_the_case_once(http, police, token_for, clock):
    # Approve and reject sent together: one decides, the others find the case decided (the case row
    # is locked while deciding; without the lock PostgreSQL let both commit, the row saying one and
    # the audit log both).
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    case_id = http.post("/v1/public/repairs", json=_repair(record["id"])).json()["id"]

    def decide(base: str, n: int) -> httpx.Response:
        outcome = "approved" if n % 2 else "rejected"
        body = {"outcome": outcome, "reason": "同时提交"}
        return httpx.post(f"{base}/v1/cases/{case_id}/decision", json=body, headers=reviewer, timeout=60)

    statuses = _at_once(10, decide)
    assert sorted(statuses) == [200] + [409] * 9, statuses
    with session_scope(writing=False) as session:
        decided = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.decided")).all()
    assert len(decided) == 1
