"""Batch checks in order; the check history; feedback once, by the approver's own agency."""

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.checks import flows, store
from app.checks.models import Check, CheckBatch
from app.db import get_engine, session_scope
from app.main import create_app
from tests.checks.helpers import approver, check, push
from tests.conftest import make_uscc


def _stored_checks() -> int:
    with session_scope(writing=False) as session:
        return int(session.scalar(select(func.count()).select_from(Check)) or 0)


def test_a_batch_answers_in_order_and_records_every_item(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    push(http, police, 2, list_type="red", severity="general")
    items = [
        {"subject": {"identifier": make_uscc(n)}, "action": "administrative_license", "reference": f"r{n}"}
        for n in (3, 1, 2, 1)
    ]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["found"], r["decision"], r["reference"]) for r in results] == [
        (False, "clear", "r3"),
        (True, "restrict", "r1"),
        (True, "incentive", "r2"),
        (True, "restrict", "r1"),
    ]
    assert len({r["id"] for r in results}) == 4 and all(r["receipt"] for r in results)
    assert _stored_checks() == 4
    stored = http.get(f"/v1/checks/{results[1]['id']}", headers=approver_headers).json()
    assert stored["decision"] == "restrict" and stored["receipt"] == results[1]["receipt"]
    with session_scope(writing=False) as session:  # each row points at the subject it found
        rows = {str(c.id): c for c in session.scalars(select(Check))}
    assert [rows[r["id"]].subject_id for r in results] == [
        None if r["subject"] is None else uuid.UUID(r["subject"]["id"]) for r in results
    ]
    assert rows[results[1]["id"]].subject_id is not None


def test_a_stored_check_gives_back_its_answer_to_the_character(http, police, token_for, clock):
    """Backslashes, quotes and non-ASCII text in what a check answers are stored as answered (on
    PostgreSQL a batch's answers go in through COPY, whose text format escapes backslashes)."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    references = ['say "hi" \\ C:\\path\\n', "审批\\t编号 ＼ \\u0041", "\\\\"]
    items = [
        {"subject": {"identifier": make_uscc(1)}, "action": "administrative_license", "reference": ref}
        for ref in references
    ]
    batch = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    single = http.post("/v1/checks", json=items[0], headers=approver_headers)
    assert batch.status_code == 200 and single.status_code == 200, (batch.text, single.text)
    answers = {answer["id"]: answer for answer in [*batch.json()["results"], single.json()]}
    without_receipts = {key: {k: v for k, v in a.items() if k != "receipt"} for key, a in answers.items()}
    assert _stored_answers(list(answers)) == without_receipts
    assert [r["reference"] for r in batch.json()["results"]] == references


def _stored_answers(ids: list[str]) -> dict[str, dict]:
    with session_scope(writing=False) as session:
        rows = session.scalars(select(Check).where(Check.id.in_([uuid.UUID(key) for key in ids])))
        return {str(row.id): json.loads(row.answer) for row in rows}


def test_checks_are_stored_as_answered_whatever_client_encoding_the_environment_names(token_for, monkeypatch):
    """PGCLIENTENCODING=GBK in the server's environment: answers still stored to the character
    (they are written to COPY as UTF-8 bytes; an emoji has no GBK form at all)."""
    if get_engine().dialect.name != "postgresql":
        pytest.skip("a client encoding is PostgreSQL's")
    headers = approver(token_for)
    monkeypatch.setenv("PGCLIENTENCODING", "GBK")
    get_engine().dispose()  # its next connections are made with the environment as it is now
    item = {"subject": {"identifier": make_uscc(1)}, "action": "financing", "reference": "Café-Ω 审批 😀"}
    with TestClient(create_app()) as client:  # a new event loop: new connections of its own pool
        single = client.post("/v1/checks", json=item, headers=headers)
        batch = client.post("/v1/checks/batch", json={"items": [item, item]}, headers=headers)
    assert single.status_code == 200 and batch.status_code == 200, (single.text, batch.text)
    answers = {answer["id"]: answer for answer in [single.json(), *batch.json()["results"]]}
    assert {answer["reference"] for answer in answers.values()} == {item["reference"]}
    without_receipts = {key: {k: v for k, v in a.items() if k != "receipt"} for key, a in answers.items()}
    assert _stored_answers(list(answers)) == without_receipts


def _decided(answer: dict) -> tuple:
    """What a check decided, without what differs from one check to the next (id, time, receipt)."""
    return (
        answer["identifier"],
        answer["found"],
        answer["decision"],
        [(m["code"], m["record_ids"]) for m in answer["measures"]],
        [record["id"] for record in answer["records"]],
    )


def test_a_batch_read_in_chunks_answers_as_single_checks_do(http, police, token_for, clock, monkeypatch):
    monkeypatch.setattr(store, "READ_CHUNK", 2)  # many subjects: read two at a time
    monkeypatch.setattr(flows, "BATCH_PART", 3)  # and decided and written three at a time
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    for n in (1, 2, 3):
        push(http, police, n)
    push(http, police, 4, list_type="red", severity="general")
    asked = [5, 3, 1, 4, 1, 2, 6, 3, 4, 7, 2]  # repeats, unknowns (5, 6, 7), out of order
    actions = ["administrative_license", "financing", "public_procurement"]
    items = [{"subject": {"identifier": make_uscc(n)}, "action": actions[i % 3]} for i, n in enumerate(asked)]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    singles = [check(http, approver_headers, n, actions[i % 3]) for i, n in enumerate(asked)]
    assert [_decided(r) for r in results] == [_decided(r) for r in singles]
    assert [r["found"] for r in results] == [n <= 4 for n in asked]
    assert _stored_checks() == 2 * len(asked)
    for result in results:  # every part's rows name the one batch their receipts share
        assert (
            http.get(f"/v1/checks/{result['id']}", headers=approver_headers).json()["receipt"]
            == result["receipt"]
        )


def test_a_batch_that_fails_after_its_first_parts_are_written_stores_nothing(
    http, police, token_for, clock, monkeypatch
):
    """The rows of a batch go to the database part by part while later parts are decided; a
    failure in a later part leaves none of them, nor the batch's shared receipt parts."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    monkeypatch.setattr(flows, "BATCH_PART", 2)
    decide = flows.decide_checks
    parts: list[int] = []

    def failing_third_part(principal, asked, *rest):
        parts.append(len(asked))
        if len(parts) == 3:
            raise OperationalError("SELECT", {}, Exception("the database went away"))
        return decide(principal, asked, *rest)

    monkeypatch.setattr(flows, "decide_checks", failing_third_part)
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in range(1, 8)]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 503, answer.text
    assert parts == [2, 2, 2]  # two parts decided (and sent to be written) before the third failed
    assert _stored_checks() == 0
    with session_scope(writing=False) as session:
        assert session.scalar(select(func.count()).select_from(CheckBatch)) == 0
    monkeypatch.setattr(flows, "decide_checks", decide)
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200 and _stored_checks() == len(items)


def test_a_read_that_fails_mid_batch_fails_the_batch_and_stores_nothing(
    http, police, token_for, clock, monkeypatch
):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    for n in (1, 2, 3):
        push(http, police, n)
    monkeypatch.setattr(store, "READ_CHUNK", 1)
    transport = http.app.state.checks.transport
    reads: list[list[str]] = []
    read = transport.read_today

    async def failing_second_read(day, identifiers):
        reads.append(identifiers)
        if len(reads) == 2:
            raise OperationalError("SELECT", {}, Exception("the database went away"))
        return await read(day, identifiers)

    monkeypatch.setattr(transport, "read_today", failing_second_read)
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in (1, 2, 3)]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 503, answer.text
    assert len(reads) == 2  # the third was never read
    assert _stored_checks() == 0


def test_a_bad_item_is_refused_on_its_own_and_the_others_answered(http, police, token_for, clock):
    # One empty cell among 10,000 rows must not sink the other 9,999 (API.md: a batch item's error
    # names its index); a body that is no batch at all is still refused whole.
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    good = {"subject": {"identifier": make_uscc(1)}, "action": "financing"}
    bad = [
        ({"subject": {"identifier": ""}, "action": "financing"}, "subject.identifier"),
        ({"subject": {"identifier": " "}, "action": "financing"}, "subject.identifier"),
        ({"subject": {"identifier": "9" * 65}, "action": "financing"}, "subject.identifier"),
        ({"subject": {"identifier": None}, "action": "financing"}, "subject.identifier"),
        ({"subject": {"identifier": make_uscc(1)}, "action": "flying"}, "action"),
        ({"subject": {"identifier": make_uscc(1)}, "action": "financing", "as_of": "2026-11-19"}, "as_of"),
        ({"subject": {"identifier": make_uscc(1)}, "action": "financing", "x": 1}, "x"),
        ({"subject": {"identifier": make_uscc(1)}, "action": "financing", "x": 2**64}, "x"),
        ("not an item", "each item must be an object"),
    ]
    items = [good, *(item for item, _ in bad), good]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(items)
    assert results[0]["decision"] == results[-1]["decision"] == "restrict"
    for index, ((_, field), result) in enumerate(zip(bad, results[1:-1], strict=True), start=1):
        assert result["status"] == "error" and result["error"] == "validation_error", result
        assert result["index"] == index
        assert result["detail"].startswith(field), (field, result["detail"])
    assert _stored_checks() == 2  # the answered ones only
    too_many = {"items": [good] * 10_001}
    assert http.post("/v1/checks/batch", json=too_many, headers=approver_headers).status_code == 422
    assert http.post("/v1/checks/batch", json={"items": []}, headers=approver_headers).status_code == 422
    single = http.post(
        "/v1/checks", json={"subject": {"identifier": "A"}, "action": "flying"}, headers=approver_headers
    )
    assert single.status_code == 422 and single.json()["fields"][0]["field"] == "action"
    assert _stored_checks() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": {"identifier": "91\u0000X"}, "action": "financing"}, "subject.identifier"),
        ({"subject": {"identifier": "A"}, "action": "financing", "reference": "案\u0000号"}, "reference"),
    ],
)
def test_control_characters_in_a_check_are_refused_and_nothing_is_stored(http, token_for, body, field):
    """PostgreSQL cannot store NUL: refused up front, not a failed insert (which, on PostgreSQL,
    checks asked at the same moment share)."""
    approver_headers = approver(token_for)
    single = http.post("/v1/checks", json=body, headers=approver_headers)
    assert single.status_code == 422, single.text
    assert single.json()["fields"][0]["field"] == field
    batch = http.post("/v1/checks/batch", json={"items": [body]}, headers=approver_headers)
    assert batch.status_code == 200, batch.text
    (refused,) = batch.json()["results"]
    assert refused["status"] == "error" and refused["detail"].startswith(f"{field}: ")
    assert _stored_checks() == 0


def test_feedback_once_by_the_checking_agency(http, token_for):
    approver_headers = approver(token_for)
    other = approver(token_for, "zaozhuang.finance")
    admin = token_for("national.credit_office", "admin", "audit:read")
    answer = check(http, approver_headers, 1, "public_procurement")
    path = f"/v1/checks/{answer['id']}/feedback"

    assert http.post(path, json={"outcome": "granted"}, headers=other).status_code == 403
    assert http.post(path, json={"outcome": "maybe"}, headers=approver_headers).status_code == 422
    nul = http.post(path, json={"outcome": "granted", "note": "a\u0000b"}, headers=approver_headers)
    assert nul.status_code == 422 and nul.json()["fields"][0]["field"] == "note"
    given = http.post(
        path, json={"outcome": "granted_with_conditions", "note": "附条件"}, headers=approver_headers
    )
    assert given.status_code == 200, given.text
    assert given.json()["outcome"] == "granted_with_conditions"
    again = http.post(path, json={"outcome": "denied"}, headers=approver_headers)
    assert again.status_code == 409 and again.json()["error"] == "feedback_exists"
    missing = "/v1/checks/00000000-0000-0000-0000-000000000001/feedback"
    assert http.post(missing, json={"outcome": "denied"}, headers=approver_headers).status_code == 404

    stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
    assert (
        stored["feedback"]["outcome"] == "granted_with_conditions" and stored["feedback"]["note"] == "附条件"
    )
    assert http.get(f"/v1/checks/{answer['id']}", headers=other).status_code == 403
    assert http.get(f"/v1/checks/{answer['id']}", headers=admin).status_code == 200
    audit = http.get("/v1/admin/audit?limit=1000", headers=admin).json()
    entries = audit["items"] if isinstance(audit, dict) else audit
    assert [e["action"] for e in entries if e["entity_id"] == answer["id"]] == ["check.feedback"]


def test_an_agency_lists_its_own_checks_and_administrators_all(http, token_for):
    approver_headers = approver(token_for)
    other = approver(token_for, "zaozhuang.finance")
    admin = token_for("national.credit_office", "admin")
    check(http, approver_headers, 1, "financing")
    check(http, approver_headers, 2, "honors")
    check(http, other, 3, "financing")
    mine = http.get("/v1/checks", headers=approver_headers).json()
    assert mine["total"] == 2 and {i["action"] for i in mine["items"]} == {"financing", "honors"}
    assert http.get("/v1/checks?action=honors", headers=approver_headers).json()["total"] == 1
    assert http.get("/v1/checks?agency=zaozhuang.finance", headers=approver_headers).status_code == 403
    assert http.get("/v1/checks", headers=admin).json()["total"] == 3
    assert http.get("/v1/checks?agency=zaozhuang.finance", headers=admin).json()["total"] == 1


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        (b"", "application/json", "body"),
        (b'{"items": [', "application/json", "body"),
        (b"[]", "application/json", "body"),
        (b'{"items": 5}', "application/json", "items"),
        (b'{"items": [], "x": 1}', None, "items"),
        (b'{"items": [{"subject": {"identifier": "A"}, "action": "financing"}]}', "text/plain", "body"),
    ],
)
def test_a_batch_body_that_cannot_be_read_is_refused(http, token_for, content, content_type, field):
    headers = approver(token_for) | ({"Content-Type": content_type} if content_type else {})
    answer = http.post("/v1/checks/batch", content=content, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "validation_error"
    assert answer.json()["fields"][0]["field"] == field
    assert _stored_checks() == 0


def test_a_batch_body_of_json_by_another_name_is_read(http, token_for):
    body = b'{"items": [{"subject": {"identifier": "A"}, "action": "financing"}]}'
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json", None):
        headers = approver(token_for) | ({"Content-Type": content_type} if content_type else {})
        answer = http.post("/v1/checks/batch", content=body, headers=headers)
        assert answer.status_code == 200, (content_type, answer.text)


def test_numbers_json_allows_but_no_field_takes_are_refused_per_item(http, police, token_for, clock):
    # 1e400, NaN and -Infinity are read from JSON as numbers: the item is refused, never answered
    # as if the field were absent.
    approver_headers = approver(token_for)
    code = make_uscc(1)
    body = (
        '{"items": ['
        f'{{"subject": {{"identifier": "{code}"}}, "action": "financing", "as_of": 1e400}},'
        f'{{"subject": {{"identifier": "{code}", "identifier_type": NaN}}, "action": "financing"}},'
        f'{{"subject": {{"identifier": "{code}"}}, "action": "financing", "reference": -Infinity}},'
        f'{{"subject": {{"identifier": "{code}"}}, "action": "financing"}}'
        "]}"
    )
    answer = http.post(
        "/v1/checks/batch", content=body, headers=approver_headers | {"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r.get("status") for r in results[:3]] == ["error"] * 3, results
    assert [r["detail"].split(":")[0] for r in results[:3]] == [
        "as_of",
        "subject.identifier_type",
        "reference",
    ]
    assert results[3]["decision"] == "clear" and _stored_checks() == 1
