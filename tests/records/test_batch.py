"""Batches: each bad item reported by index, the good ones stored; a failed batch stores nothing."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.audit import service as audit_service
from app.db import session_scope
from app.records.models import Record, Subject
from tests.conftest import make_uscc, record_body


def _records() -> int:
    with session_scope(writing=False) as session:
        return session.scalar(select(func.count()).select_from(Record))


def test_good_items_are_stored_and_bad_ones_reported_by_index(http, police):
    bad_code = make_uscc(3)[:-1] + ("0" if make_uscc(3)[-1] != "0" else "1")
    items = [
        record_body(1),
        record_body(2, domain="unknown_domain"),
        record_body(3, subject={"identifier": bad_code}),
        record_body(4),
        record_body(5, domain="tax_fraud"),
    ]
    answer = http.post("/v1/records/batch", json={"records": items}, headers=police)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["unchanged"], body["errors"]) == (2, 0, 3)
    by_index = {r["index"]: r for r in body["results"]}
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert by_index[0]["status"] == "created" and by_index[0]["id"]
    assert by_index[1]["error"] == "validation_error" and by_index[1]["fields"][0]["field"] == "domain"
    assert by_index[2]["fields"][0]["field"] == "subject.identifier"
    assert by_index[4]["error"] == "forbidden"
    assert _records() == 2
    stored = http.get(f"/v1/records/{by_index[3]['id']}", headers=police)
    assert stored.status_code == 200 and stored.json()["external_id"] == "ext-4"


def test_retrying_a_batch_changes_nothing_and_in_batch_duplicates_are_recognized(http, police):
    items = [record_body(n) for n in range(1, 6)]
    first = http.post("/v1/records/batch", json={"records": items}, headers=police).json()
    assert first["created"] == 5
    retry = http.post(
        "/v1/records/batch", json={"records": [*items, record_body(1, conduct="改了")]}, headers=police
    ).json()
    assert (retry["created"], retry["unchanged"], retry["errors"]) == (0, 5, 1)
    assert retry["results"][5]["error"] == "external_id_conflict"
    duplicated = http.post(
        "/v1/records/batch", json={"records": [record_body(9), record_body(9)]}, headers=police
    ).json()
    assert [r["status"] for r in duplicated["results"]] == ["created", "unchanged"]
    assert duplicated["results"][0]["id"] == duplicated["results"][1]["id"]
    assert _records() == 6


def test_one_subject_many_records_in_a_batch_makes_one_subject(http, police):
    same = {"identifier": make_uscc(42), "name": "同一公司有限公司"}
    items = [record_body(n, subject=same) for n in range(1, 4)]
    assert http.post("/v1/records/batch", json={"records": items}, headers=police).json()["created"] == 3
    with session_scope(writing=False) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 1


def test_batch_over_ten_thousand_is_refused_whole(http, police):
    items = [record_body(1)] * 10_001
    answer = http.post("/v1/records/batch", json={"records": items}, headers=police)
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "records"
    assert _records() == 0


def test_empty_batch_and_non_object_items(http, police):
    assert http.post("/v1/records/batch", json={"records": []}, headers=police).status_code == 422
    # An item that is no object at all is that item's error, as any other bad item: the rest is stored.
    items = [record_body(1), "junk", None, 7, [record_body(2)]]
    answer = http.post("/v1/records/batch", json={"records": items}, headers=police)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["errors"]) == (1, 4)
    assert [(r["index"], r["status"], r.get("error")) for r in body["results"][1:]] == [
        (index, "error", "validation_error") for index in range(1, 5)
    ]
    assert _records() == 1
    whole = http.post("/v1/records/batch", json={"records": "junk"}, headers=police)
    assert whole.status_code == 422 and whole.json()["fields"][0]["field"] == "records"


def test_a_database_failure_mid_batch_stores_nothing(http, police, monkeypatch):
    def failing_append(*args, **kwargs):
        raise OperationalError("INSERT INTO audit_log ...", {}, Exception("connection lost"))

    monkeypatch.setattr(audit_service, "append", failing_append)
    answer = http.post(
        "/v1/records/batch", json={"records": [record_body(n) for n in range(1, 50)]}, headers=police
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.json()["error"] == "service_unavailable"
    assert _records() == 0
    monkeypatch.undo()
    retried = http.post(
        "/v1/records/batch", json={"records": [record_body(n) for n in range(1, 50)]}, headers=police
    )
    assert retried.json()["created"] == 49


@pytest.mark.parametrize("size", [1000])
def test_a_large_batch_is_stored_whole(http, police, size):
    items = [record_body(n) for n in range(size)]
    body = http.post("/v1/records/batch", json={"records": items}, headers=police).json()
    assert body["created"] == size and _records() == size
