"""Single checks asked at once (on PostgreSQL they share their reads and inserts): each caller gets the
answer about its own entity, and each check is recorded with the receipt it was given."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from jose import jws

from app.auth.service import Principal
from app.checks import flows
from app.checks.schemas import CheckIn
from app.checks.store import CheckStore, PostgresTransport
from app.config import get_settings
from app.db import get_engine
from app.db.asyncpool import AsyncPool
from app.main import app
from tests.checks.helpers import approver, push
from tests.conftest import make_uscc

KNOWN = [1, 2, 3, 4]
UNKNOWN = list(range(101, 121))


async def _ask_at_once(headers: dict[str, str], identifiers: list[str], **extra: Any) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        "/v1/checks",
                        json={
                            "subject": {"identifier": identifier},
                            "action": "administrative_license",
                            **extra.get(identifier, {}),
                        },
                        headers=headers,
                    )
                    for identifier in identifiers
                )
            )
        )


def test_checks_asked_at_once_each_answer_their_own_entity_and_are_recorded(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    for n in KNOWN:
        push(http, police, n)
    asked = [make_uscc(n) for n in KNOWN + UNKNOWN + KNOWN[:2]]  # two entities asked twice

    answers = asyncio.run(_ask_at_once(headers, asked))

    assert [answer.status_code for answer in answers] == [200] * len(asked), answers[0].text
    bodies: list[dict[str, Any]] = [answer.json() for answer in answers]
    known = {make_uscc(n) for n in KNOWN}
    for identifier, body in zip(asked, bodies, strict=True):
        assert body["identifier"] == identifier
        assert body["found"] is (identifier in known)
        assert body["decision"] == ("restrict" if identifier in known else "clear")
        if identifier in known:
            assert body["subject"]["identifier"] == identifier
            assert {record["id"] for record in body["records"]}
    assert len({body["id"] for body in bodies}) == len(asked)

    keys = http.get("/.well-known/jwks.json").json()["keys"]
    for body in bodies:
        stored = http.get(f"/v1/checks/{body['id']}", headers=headers)
        assert stored.status_code == 200, stored.text
        assert stored.json()["receipt"] == body["receipt"]
        kid = jws.get_unverified_header(body["receipt"])["kid"]
        key = next(key for key in keys if key["kid"] == kid)
        claims = json.loads(jws.verify(body["receipt"], key, algorithms=["ES256"]))
        assert (claims["check_id"], claims["subject"]) == (body["id"], body["identifier"])
    listed = http.get("/v1/checks", params={"limit": 500}, headers=headers).json()
    assert listed["total"] == len(asked)


def test_one_bad_check_among_many_at_once_fails_alone(http, police, token_for, clock):
    """As-of checks (the general path on both databases, shared by the checks asked meanwhile): one
    asking about a future day is refused, the others are answered and recorded."""
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    clock("2026-11-20T10:00")
    asked = [make_uscc(n) for n in [1, *UNKNOWN[:9]]]
    extra = {identifier: {"as_of": "2026-11-19"} for identifier in asked}
    extra[asked[5]] = {"as_of": "2026-12-01"}

    answers = asyncio.run(_ask_at_once(headers, asked, **extra))

    statuses = [answer.status_code for answer in answers]
    assert statuses == [200] * 5 + [422] + [200] * 4, [answer.text for answer in answers]
    assert answers[5].json()["fields"][0]["field"] == "as_of"
    assert answers[0].json()["decision"] == "restrict" and answers[0].json()["as_of"] == "2026-11-19"
    listed = http.get("/v1/checks", params={"limit": 500}, headers=headers).json()
    assert listed["total"] == 9


@pytest.mark.skipif(get_engine().dialect.name != "postgresql", reason="the async pool is PostgreSQL's")
def test_batches_at_once_never_hold_every_connection_waiting_for_one(http, police, token_for, monkeypatch):
    """A batch holds a connection to write while it reads its next part on another: more batches
    at once than the pool has connections still all finish."""
    for n in KNOWN:
        push(http, police, n)
    monkeypatch.setattr(flows, "BATCH_PART", 1)
    principal = Principal("approver", "national.market_regulation", frozenset({"checks:write"}))
    items = [
        CheckIn.model_validate({"subject": {"identifier": make_uscc(n)}, "action": "financing"})
        for n in KNOWN
    ]

    async def at_once() -> list[list[Any]]:
        pool = AsyncPool(get_settings().resolved_database_url, size=2)
        checks = CheckStore(PostgresTransport(pool))
        try:
            batches = (flows.check_batch(checks, principal, items) for _ in range(6))
            return list(await asyncio.wait_for(asyncio.gather(*batches), timeout=30))
        finally:
            await pool.close()

    answered = asyncio.run(at_once())
    assert [[json.loads(one.json)["identifier"] for one in batch] for batch in answered] == [
        [make_uscc(n) for n in KNOWN]
    ] * 6
