"""The written decision (决定书) a subject downloads by query code: JSON and a Chinese PDF, signed
with the registry's key, only once the case is decided, and never carrying the query code."""

import hashlib
import io
import shutil
import subprocess

import orjson
import pytest
from pypdf import PdfReader

from app.cases import decision_document
from app.config import get_settings
from app.keys import get_keyring
from app.kit.pdffonts import FALLBACK_FONT, cjk_font
from tests.cases.helpers import TENTH_WORKDAY, apply, decide, listed
from tests.conftest import POLICE, make_resident_id, record_body


def _pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _json_verifies(document: dict) -> dict:
    """A verifier's steps: recompute the digest of the canonical JSON, check the signature with the
    registry's public keys, and that the signature names that digest."""
    body = {key: value for key, value in document.items() if key not in ("sha256", "signature")}
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert document["sha256"] == digest
    claims = get_keyring().verify_jws(document["signature"])
    assert claims["sha256"] == digest and claims["format"] == "json"
    assert claims["case_id"] == document["case"]["id"] and claims["outcome"] == document["outcome"]
    return claims


def test_an_approved_repair_has_a_signed_decision_saying_when_other_platforms_sync(
    http, police, token_for, clock
):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    code = created["query_code"]
    for suffix in ("json", "pdf"):  # nothing decided, nothing to download
        early = http.get(f"/v1/public/repairs/{code}/decision.{suffix}")
        assert early.status_code == 404 and early.json()["error"] == "not_found"
    assert http.get(f"/v1/public/repairs/{code}").json()["decision_available"] is False

    assert decide(http, reviewer, created["id"], "approved", "罚款已缴清，整改到位").status_code == 200
    exited = http.get(f"/v1/records/{record['id']}", headers=police).json()
    assert exited["status"] == "repaired" and exited["exit_sync_by"]

    answer = http.get(f"/v1/public/repairs/{code}/decision.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    document = answer.json()
    _json_verifies(document)
    assert document["document"] == "repair_decision" and document["title_zh"] == "信用修复决定书"
    assert document["outcome"] == "approved" and document["outcome_zh"] == "准予信用修复"
    assert document["reasons"] == "罚款已缴清，整改到位"
    assert document["case"]["id"] == created["id"] and document["case"]["submitted_on"] == "2026-09-29"
    assert document["record"]["decision_no"] == record["decision_no"]
    assert (
        document["record"]["domain"] == "telecom_fraud"
        and document["record"]["decision_date"] == "2026-05-28"
    )
    assert document["deciding_agency"] == {"code": POLICE, "name_zh": "公安部"}
    assert document["decision_date"] == "2026-09-29"
    assert document["next"]["record_status"] == "repaired"
    assert document["next"]["sync_by"] == exited["exit_sync_by"] == "2026-10-09"
    assert code not in answer.text and code.replace("-", "") not in answer.text
    assert http.get(f"/v1/public/repairs/{code}").json()["decision_available"] is True

    pdf = http.get(f"/v1/public/repairs/{code}/decision.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["x-decision-sha256"] == hashlib.sha256(pdf.content).hexdigest()
    claims = get_keyring().verify_jws(pdf.headers["x-decision-signature"])
    assert claims["sha256"] == pdf.headers["x-decision-sha256"] and claims["format"] == "pdf"
    text = _pdf_text(pdf.content)
    for expected in ("信用修复决定书", "准予信用修复", created["id"], record["id"], "公安部", "2026-10-09"):
        assert expected in text, expected
    assert document["sha256"] in text.replace("\n", "")  # the PDF names the signed JSON's digest
    assert code not in text
    # The same decision downloaded again is the same file.
    assert http.get(f"/v1/public/repairs/{code}/decision.pdf").content == pdf.content


def test_a_rejected_repair_decision_names_the_appeal_and_its_deadline(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "rejected", "未提供完税证明")
    document = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json").json()
    _json_verifies(document)
    assert document["outcome"] == "rejected" and document["next"]["record_status"] == "active"
    assert document["next"]["appeal"] == {"to": "credit_office", "by": TENTH_WORKDAY, "once": True}
    text = _pdf_text(http.get(f"/v1/public/repairs/{created['query_code']}/decision.pdf").content)
    assert "不予信用修复" in text and TENTH_WORKDAY in text and "申诉" in text
    assert "未提供完税证明" in text


def test_the_decision_stays_as_issued_when_the_record_changes_later(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "rejected", "证据不足")
    before = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json").json()
    http.post(
        f"/v1/records/{record['id']}/revoke",
        json={"reason": "撤销", "decision_no": "撤字1号"},
        headers=police,
    )
    after = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json").json()
    assert after["sha256"] == before["sha256"] and after["next"]["record_status"] == "active"


def test_an_objection_answer_is_a_decision_too(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    created = http.post(
        "/v1/public/objections",
        json={"record_id": record["id"], "reason": "not_mine", "statement": "不是本单位", "contact": "010-1"},
    ).json()
    code = created["query_code"]
    assert http.get(f"/v1/public/objections/{code}/decision.json").status_code == 404
    decide(http, reviewer, created["id"], "revoked", "核实确属误报")
    document = http.get(f"/v1/public/objections/{code}/decision.json").json()
    _json_verifies(document)
    assert document["document"] == "objection_decision" and document["outcome"] == "revoked"
    assert document["next"]["record_status"] == "revoked" and document["next"]["sync_by"]
    assert "异议成立，撤销记录" in _pdf_text(http.get(f"/v1/public/objections/{code}/decision.pdf").content)
    # A query code only opens its own kind's documents.
    assert http.get(f"/v1/public/repairs/{code}/decision.json").status_code == 404


def test_a_persons_decision_never_shows_the_identity_number(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    number = make_resident_id(__import__("datetime").date(1980, 3, 14), 7)
    subject = {
        "kind": "natural_person",
        "name": "张三",
        "identifier_type": "resident_id",
        "identifier": number,
    }
    record = listed(http, police, clock, subject=subject)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "approved", "已履行")
    answer = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json")
    # A person's telecom-fraud record is not published: the document names the record by its id.
    assert answer.json()["record"] == {"id": record["id"], "withheld": True}
    text = _pdf_text(http.get(f"/v1/public/repairs/{created['query_code']}/decision.pdf").content)
    assert "张三" not in text and record["id"] in text.replace("\n", "")
    for shown in (answer.text, text):
        assert number not in shown and number[:14] not in shown


def test_an_individual_business_known_by_its_owners_number_is_not_shown_by_it(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    number = make_resident_id(__import__("datetime").date(1981, 6, 2), 8)
    subject = {
        "kind": "individual_business",
        "name": "王记小吃店",
        "identifier_type": "resident_id",
        "identifier": number,
    }
    record = listed(http, police, clock, subject=subject)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "approved", f"店主（身份证{number}）已履行")
    answer = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json")
    assert "subject" not in answer.json()["record"]  # not published: the record by its id alone
    text = _pdf_text(http.get(f"/v1/public/repairs/{created['query_code']}/decision.pdf").content)
    for shown in (answer.text, text):
        assert number not in shown and number[10:] not in shown


def test_a_number_an_agency_wrote_into_the_case_is_masked_wherever_the_query_code_reads_it(
    http, police, token_for, clock
):
    # The query code may be a stranger's (anyone may raise an objection): the decision number, the
    # agency's reasons and the applicant's own words reach every holder of the code masked.
    reviewer = token_for(POLICE, "cases:review")
    number = make_resident_id(__import__("datetime").date(1990, 1, 1), 33)
    record = listed(http, police, clock, decision_no=f"(2026)鲁0402执{number}号")
    created = http.post(
        "/v1/public/objections",
        json={"record_id": record["id"], "reason": "not_mine", "statement": "不是本人", "contact": "010-1"},
    ).json()
    decide(http, reviewer, created["id"], "dismissed", f"经核查，被执行人身份证号{number}无误")
    code = created["query_code"]
    shown = [
        http.get(f"/v1/public/objections/{code}").text,
        http.get(f"/v1/public/objections/{code}/decision.json").text,
        _pdf_text(http.get(f"/v1/public/objections/{code}/decision.pdf").content),
        http.get("/progress", params={"code": code}).text,
    ]
    assert "经核查" in shown[0] and "经核查" in shown[3]
    for text in shown:
        assert number not in text and number[6:14] not in text


def test_the_pdf_renders_with_the_fallback_font_too(http, police, token_for, clock, monkeypatch, tmp_path):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "approved", "已履行")
    document = http.get(f"/v1/public/repairs/{created['query_code']}/decision.json").json()
    monkeypatch.setattr(get_settings(), "report_font", str(tmp_path / "missing.ttf"))
    assert cjk_font(get_settings().report_font) == FALLBACK_FONT
    pdf = decision_document.render_pdf(
        {k: v for k, v in document.items() if k not in ("sha256", "signature")}
    )
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1 and created["id"] in _pdf_text(pdf)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_the_decision_pdf_renders_to_an_image(http, police, token_for, clock, tmp_path):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "rejected", "证据不足")
    path = tmp_path / "decision.pdf"
    path.write_bytes(http.get(f"/v1/public/repairs/{created['query_code']}/decision.pdf").content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True
    )
    image = next(tmp_path.glob("page*.png")).read_bytes()
    assert image.startswith(b"\x89PNG") and len(image) > 5000


def test_a_case_on_a_record_the_public_does_not_see_tells_nothing_of_it(http, police, token_for, clock):
    # Anyone who learns a hidden record's id may object to it: the decision answers the objection
    # without printing the record (its subject, decision number, dates), which the public never saw.
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock, visibility="restricted", decision_no="秘〔2026〕1号")
    created = http.post(
        "/v1/public/objections",
        json={"record_id": record["id"], "reason": "other", "statement": "陌生人", "contact": "stranger"},
    ).json()
    assert decide(http, reviewer, created["id"], "dismissed", "记载无误").status_code == 200
    answer = http.get(f"/v1/public/objections/{created['query_code']}/decision.json").json()
    assert answer["record"] == {"id": record["id"], "withheld": True} and answer["outcome"] == "dismissed"
    text = _pdf_text(http.get(f"/v1/public/objections/{created['query_code']}/decision.pdf").content)
    for hidden in ("秘〔2026〕1号", record["subject"]["name"], record["decision_date"]):
        assert hidden not in text and hidden not in str(answer)
