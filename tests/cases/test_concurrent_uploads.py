"""The cap of 10 evidence files per case holds when uploads race (on a real server, many at once)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from app.cases.models import CaseFile
from app.db import session_scope
from tests.cases.test_repair import PNG, _listed, _repair
from tests.ops.servers import registry_serve


def test_twenty_uploads_at_once_store_ten(http, police, clock):
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    code = http.post("/v1/public/repairs", json=_repair(record["id"])).json()["query_code"]
    at_once = threading.Barrier(20)

    with registry_serve() as base:

        def upload(n: int) -> int:
            at_once.wait()
            files = {"file": (f"receipt-{n}.png", PNG, "image/png")}
            return httpx.post(f"{base}/v1/public/cases/{code}/files", files=files, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(upload, range(20)))

    assert sorted(statuses) == [201] * 10 + [422] * 10, statuses
    with session_scope(writing=False) as session:
        assert session.scalar(select(func.count()).select_from(CaseFile)) == 10
