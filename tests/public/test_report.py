"""Credit reports: a Chinese PDF whose text can be read back, and verification that catches one byte."""

import hashlib
import io

import pytest
from pypdf import PdfReader

from app.keys import get_keyring
from tests.conftest import make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"


@pytest.fixture
def company(http, police, clock):
    clock(TODAY)
    body = record_body(1, subject={"name": "北京星辰科技有限公司"}, decision_date="2026-11-18")
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return make_uscc(1)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_report_reads_back_in_chinese_and_verifies(http, company):
    answer = http.get(f"/v1/public/subjects/{company}/report.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    report_id = answer.headers["x-report-id"]
    pdf = answer.content
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for expected in (
        "信用报告",
        "北京星辰科技有限公司",
        company,
        report_id,
        "电信网络诈骗",
        "公安部",
        "核验",
    ):
        assert expected in text, expected

    verified = http.get(f"/v1/public/reports/{report_id}").json()
    assert verified["genuine"] is True and verified["valid"] is True
    assert verified["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert verified["subject"]["name"] == "北京星辰科技有限公司"
    # The signature verifies offline with the registry's published keys.
    claims = get_keyring().verify_jws(verified["signature"])
    assert claims["report_id"] == report_id and claims["sha256"] == verified["sha256"]

    assert http.post(f"/v1/public/reports/{report_id}/verify", content=pdf).json()["valid"] is True
    by_digest = http.get(
        f"/v1/public/reports/{report_id}", params={"sha256": hashlib.sha256(pdf).hexdigest()}
    )
    assert by_digest.json()["content_matches"] is True


def test_one_changed_byte_fails_verification(http, company):
    answer = http.get(f"/v1/public/subjects/{company}/report.pdf")
    report_id, pdf = answer.headers["x-report-id"], bytearray(answer.content)
    pdf[len(pdf) // 2] ^= 0x01
    checked = http.post(f"/v1/public/reports/{report_id}/verify", content=bytes(pdf)).json()
    # One verdict, stated once: the registry did issue this report id, but not these bytes.
    assert checked["verdict"] == "not_genuine" and checked["reason"] == "content_changed"
    assert checked["genuine"] is False and checked["valid"] is False and checked["content_matches"] is False
    assert checked["verdict_zh"].startswith("未通过核验") and "改动" in checked["verdict_zh"]


def test_unknown_report_ids_are_not_genuine(http, company):
    assert http.get("/v1/public/reports/CR20261120-AAAAAAAAAAAA").status_code == 404
    assert http.get("/v1/public/subjects/91110000000000999X/report.pdf").status_code == 404


def test_json_report_for_machines_verifies_and_detects_changes(http, company):
    answer = http.get(f"/v1/public/subjects/{company}/report.json")
    assert answer.status_code == 200
    document = answer.json()
    assert answer.headers["x-report-id"] == document["report_id"]
    assert document["black_count"] == 1
    assert document["domains"][0]["domain"] == "telecom_fraud"
    assert get_keyring().verify_jws(document["signature"])["sha256"] == document["sha256"]
    report_id = document["report_id"]
    assert http.post(f"/v1/public/reports/{report_id}/verify", content=answer.content).json()["valid"] is True
    document["domains"][0]["records"][0]["conduct"] = "无"
    import json

    tampered = json.dumps(document, ensure_ascii=False).encode()
    assert http.post(f"/v1/public/reports/{report_id}/verify", content=tampered).json()["valid"] is False


def test_a_persons_report_masks_the_identity_number(http, police, clock, persons_published):
    clock(TODAY)
    resident_id = make_resident_id(__import__("datetime").date(1985, 7, 9), 21)
    subject = {
        "kind": "natural_person",
        "name": "王五",
        "identifier_type": "resident_id",
        "identifier": resident_id,
    }
    body = record_body(5, subject=subject, decision_date="2026-11-18")
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    # Reached by the ref its name search answers with; never by the number.
    assert http.get(f"/v1/public/subjects/{resident_id}/report.pdf").status_code == 404
    (item,) = http.get("/v1/public/search", params={"q": "王五"}).json()["items"]
    answer = http.get(f"/v1/public/subjects/{item['ref']}/report.pdf")
    text = _text(answer.content)
    assert "王五" in text
    assert resident_id[10:] not in text and resident_id[:10] + "********" in text
    assert resident_id not in answer.content.decode("latin-1")


def _reports() -> int:
    from sqlalchemy import func, select

    from app.db import session_scope
    from app.models import PublicReport

    with session_scope(writing=False) as session:
        return session.scalar(select(func.count()).select_from(PublicReport))


@pytest.mark.parametrize("fmt", ["pdf", "json"])
def test_asking_again_the_same_day_answers_the_report_already_issued(http, police, company, clock, fmt):
    """Downloads do not grow the table: one row per subject, format, day and content."""
    answers = [http.get(f"/v1/public/subjects/{company}/report.{fmt}") for _ in range(5)]
    assert {a.headers["x-report-id"] for a in answers} == {answers[0].headers["x-report-id"]}
    assert {a.content for a in answers} == {answers[0].content}  # the very bytes issued ...
    report_id = answers[0].headers["x-report-id"]
    verified = http.post(f"/v1/public/reports/{report_id}/verify", content=answers[-1].content).json()
    assert verified["valid"] is True  # ... so each copy verifies
    assert _reports() == 1

    # What the report says changes: a new report. The next day: a new report.
    clock("2026-11-20T15:00")
    pushed = http.post(
        "/v1/records", json=record_body(1, external_id="ext-2", decision_no="第2号"), headers=police
    )
    assert pushed.status_code == 201, pushed.text
    changed = http.get(f"/v1/public/subjects/{company}/report.{fmt}")
    assert changed.headers["x-report-id"] != report_id and _reports() == 2
    assert (
        http.get(f"/v1/public/subjects/{company}/report.{fmt}").headers["x-report-id"]
        == (changed.headers["x-report-id"])
    )
    clock("2026-11-21T09:00")
    tomorrow = http.get(f"/v1/public/subjects/{company}/report.{fmt}")
    assert tomorrow.headers["x-report-id"] not in (report_id, changed.headers["x-report-id"])
    assert tomorrow.headers["x-report-id"].startswith("CR20261121-") and _reports() == 3
