"""Pushes that race: the same record sent several times at once, and two agencies listing the same new
company at once. Each answer is a 201 or a 200 `unchanged` with the same record, never a 500."""

import asyncio
from typing import Any

import httpx

from app.main import app
from tests.conftest import COURT, POLICE, make_uscc, record_body


async def _push_at_once(pushes: list[tuple[dict[str, str], dict[str, Any]]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        return list(
            await asyncio.gather(*(client.post("/v1/records", json=body, headers=h) for h, body in pushes))
        )


def test_identical_pushes_at_once_store_one_record(http, police):
    answers = asyncio.run(_push_at_once([(police, record_body(1))] * 8))
    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    listed = http.get("/v1/records", headers=police).json()
    assert listed["total"] == 1


def test_two_agencies_listing_the_same_new_company_at_once_share_one_subject(http, token_for):
    police = token_for(POLICE, "records:write", "records:read")
    court = token_for(COURT, "records:write")
    company = {"identifier": make_uscc(5), "name": "枣庄市鑫达通讯器材有限公司"}
    pushes = [
        (police, record_body(5, subject=company)),
        (court, record_body(6, domain="court_judgments", severity="general", subject=company)),
    ]
    answers = asyncio.run(_push_at_once(pushes))
    assert [answer.status_code for answer in answers] == [201, 201], [a.text for a in answers]
    subject_ids = {answer.json()["subject"]["id"] for answer in answers}
    assert len(subject_ids) == 1
    view = http.get(f"/v1/subjects/{make_uscc(5)}", headers=police).json()
    assert len(view["records"]) == 2


async def _at_once(
    requests: list[tuple[str, str, dict[str, str], dict[str, Any] | None]],
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        return list(
            await asyncio.gather(
                *(client.request(method, path, json=body, headers=h) for method, path, h, body in requests)
            )
        )


def test_government_reads_are_answered_while_another_agency_pushes(http, police, token_for):
    # A logged read writes its access-log entry after reading: on SQLite a transaction that has read
    # cannot take the write lock once another writer has committed since (it was answered 503).
    court = token_for(COURT, "records:write")
    first = http.post("/v1/records", json=record_body(1), headers=police).json()
    requests: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = []
    for n in range(10, 16):
        requests.append(
            ("POST", "/v1/records", court, record_body(n, domain="court_judgments", severity="general"))
        )
        requests.append(("GET", "/v1/records?limit=3", police, None))
        requests.append(("GET", f"/v1/records/{first['id']}/history", police, None))
        requests.append(("GET", f"/v1/subjects/{make_uscc(1)}", police, None))
    answers = asyncio.run(_at_once(requests))
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200] * 6, [
        answer.text for answer in answers if answer.status_code >= 300
    ]
