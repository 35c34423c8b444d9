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
