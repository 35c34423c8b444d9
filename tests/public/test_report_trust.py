"""Reports people trust: an embedded Chinese font, the issuing body, a QR code and the printed address
of the human verification page, page numbers, what the report covers; one verdict on verification;
the 信用代证 special report, a clean organisation's too."""

import base64
import hashlib
import io
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from app.config import get_settings
from tests.conftest import make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"
ORIGIN = "https://credit.example.gov.cn"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


@pytest.fixture
def special_tools():
    """pdftoppm and zbarimg (Debian's poppler-utils and zbar-tools, installed by scripts/setup test)."""
    missing = [tool for tool in ("pdftoppm", "zbarimg") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{', '.join(missing)} missing: scripts/setup test installs them")
        pytest.skip(f"{', '.join(missing)} missing (apt-get install poppler-utils zbar-tools)")


@pytest.fixture
def configured(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "public_base_url", ORIGIN)
    monkeypatch.setattr(settings, "issuer_name", "示范市社会信用体系建设领导小组办公室")
    monkeypatch.setattr(settings, "issuer_contact", "0571-12345678（工作日 9:00-17:00）")
    return settings


@pytest.fixture
def company(http, police, clock, configured):
    clock(TODAY)
    body = record_body(1, subject={"name": "北京星辰科技有限公司"}, decision_date="2026-11-18")
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return make_uscc(1)


def _reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in _reader(pdf).pages)


def _embedded_fonts(pdf: bytes) -> set[str]:
    """Base names of the fonts whose glyphs travel inside the file (a FontFile2 stream: TrueType)."""
    found = set()
    for page in _reader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            for candidate in [font, *(d.get_object() for d in descendants or [])]:
                descriptor = candidate.get("/FontDescriptor")
                if descriptor is not None and "/FontFile2" in descriptor.get_object():
                    found.add(str(candidate["/BaseFont"]))
    return found


def _qr_operations(url: str) -> bytes:
    """The drawing operations of the report's QR code for `url`, as reportlab draws them alone."""
    from reportlab.graphics import renderPDF
    from reportlab.pdfgen.canvas import Canvas

    from app.public.report import qr_drawing

    drawing = qr_drawing(url, 73.7)
    assert drawing.contents[0].value == url  # the widget encodes the verification page
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1, pageCompression=0)
    renderPDF.draw(drawing, canvas, 0, 0)
    canvas.showPage()
    canvas.save()
    stream = _reader(buffer.getvalue()).pages[0].get_contents().get_data()
    return b"\n".join(line for line in stream.splitlines() if b" re" in line)


def test_the_credit_report_embeds_its_font_names_its_issuer_and_how_to_verify_it(http, company):
    answer = http.get(f"/v1/public/subjects/{company}/report.pdf")
    assert answer.status_code == 200, answer.text
    report_id, pdf = answer.headers["x-report-id"], answer.content
    assert any("WenQuanYi" in name for name in _embedded_fonts(pdf)), _embedded_fonts(pdf)
    text = _text(pdf)
    page_url = f"{ORIGIN}/reports/{report_id}"
    for expected in (
        "出具机构：示范市社会信用体系建设领导小组办公室",
        "0571-12345678",
        "报告范围",
        "处于公示期内的红名单、黑名单",
        f"核验地址：{page_url}",
        "第 1 页 共 1 页",
        "扫码核验真伪",
        "北京星辰科技有限公司",
        company,  # Latin letters and digits come out as such, in the embedded font
    ):
        assert expected in text, expected
    assert "/v1/public/reports/" not in text.split("核验地址")[1].split("（")[0]  # the page, not the API
    # The QR code on the first page is the verification page's address, module for module.
    stream = _reader(pdf).pages[0].get_contents().get_data()
    first_page = b"\n".join(line for line in stream.splitlines() if b" re" in line)
    assert _qr_operations(page_url) in first_page
    assert _qr_operations(page_url + "x") not in first_page


def test_long_reports_number_their_pages(http, police, company):
    for n in range(2, 9):
        body = record_body(1, external_id=f"ext-{n}", decision_no=f"第{n}号", decision_date="2026-11-18")
        assert http.post("/v1/records", json=body, headers=police).status_code == 201
    pdf = http.get(f"/v1/public/subjects/{company}/report.pdf").content
    pages = _reader(pdf).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        assert f"第 {number} 页 共 {len(pages)} 页" in page.extract_text()


def test_the_json_report_carries_issuer_scope_and_the_verification_page(http, company):
    document = http.get(f"/v1/public/subjects/{company}/report.json").json()
    assert document["issuer"]["name"] == "示范市社会信用体系建设领导小组办公室"
    assert "公示期内" in document["scope"]
    assert document["verification"]["url"] == f"{ORIGIN}/reports/{document['report_id']}"
    assert document["verification"]["api"] == f"{ORIGIN}/v1/public/reports/{document['report_id']}"


def test_a_json_report_with_a_key_twice_is_not_genuine(http, company):
    answer = http.get(f"/v1/public/subjects/{company}/report.json")
    report_id, original = answer.json()["report_id"], answer.content
    verify = f"/v1/public/reports/{report_id}/verify"
    assert http.post(verify, content=original).json()["verdict"] == "genuine"
    # The issued content, then the key again with other content: a parser keeping the first value
    # shows the tampered text below... a parser keeping the last reads the original.
    document = answer.json()
    tampered = dict(document)
    tampered["black_count"] = 0
    twice = json.dumps(tampered, ensure_ascii=False)[:-1] + ', "black_count": 1}'
    # ... and the same trick on the whole document: first the lie, then the issued content.
    checked = http.post(verify, content=twice.encode()).json()
    assert checked["verdict"] == "not_genuine" and checked["reason"] == "duplicate_keys"
    assert checked["genuine"] is False and "重复的键" in checked["verdict_zh"]
    nested = original.replace(b'"conduct":', b'"conduct":"\xe6\x97\xa0","conduct":', 1)
    assert http.post(verify, content=nested).json()["reason"] == "duplicate_keys"


def _tamper_signature(report_id: str, how: str) -> None:
    from app.db import session_scope
    from app.models import PublicReport

    with session_scope() as session:
        stored = session.get(PublicReport, report_id)
        header, payload, signature = stored.signature.split(".")
        if how == "key":
            claims = json.loads(base64.urlsafe_b64decode(header + "=="))
            claims["kid"] = "a-key-nobody-has"
            header = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        else:
            raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
            raw[5] ^= 0xFF
            signature = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        stored.signature = f"{header}.{payload}.{signature}"


@pytest.mark.parametrize(("how", "reason"), [("key", "key_unknown"), ("bits", "signature_invalid")])
def test_a_report_whose_signature_fails_is_not_genuine_and_says_why(http, company, how, reason):
    answer = http.get(f"/v1/public/subjects/{company}/report.pdf")
    report_id = answer.headers["x-report-id"]
    _tamper_signature(report_id, how)
    checked = http.post(f"/v1/public/reports/{report_id}/verify", content=answer.content).json()
    assert (checked["verdict"], checked["reason"], checked["genuine"]) == ("not_genuine", reason, False)
    assert checked["content_matches"] is True  # the file is as issued; its signature is what fails
    page = http.get(f"/reports/{report_id}")
    assert "未通过核验" in page.text and "真实有效" not in page.text


def test_the_verification_page_states_one_verdict(http, company):
    report_id = http.get(f"/v1/public/subjects/{company}/report.pdf").headers["x-report-id"]
    page = http.get(f"/reports/{report_id}")
    assert page.status_code == 200
    assert page.text.count('id="verdict"') == 1 and "真实有效" in page.text
    unknown = http.get("/reports/CR20261120-AAAAAAAAAAAA")
    assert unknown.status_code == 404 and "本系统没有出具过该编号的报告" in unknown.text


# --- 信用代证 special report ---


def _special(http, key, **params):
    return http.get(f"/v1/public/subjects/{key}/special-report.pdf", params=params)


def test_a_clean_organisation_gets_a_special_report_that_verifies(http, configured, clock):
    clock(TODAY)
    clean = make_uscc(77)
    answer = _special(http, clean, domains="telecom_fraud,tax_fraud", years=3)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    report_id, pdf = answer.headers["x-report-id"], answer.content
    text = _text(pdf)
    assert "专项信用报告（信用代证）" in text and clean in text
    assert text.count("无公示中的记录。") == 2
    assert "2023年11月20日 至 2026年11月20日" in text
    assert f"{ORIGIN}/reports/{report_id}" in text
    assert _embedded_fonts(pdf)
    checked = http.post(f"/v1/public/reports/{report_id}/verify", content=pdf).json()
    assert checked["verdict"] == "genuine" and checked["format"] == "special"
    # Asked again the same day: the very report already issued.
    again = _special(http, clean, domains="tax_fraud,telecom_fraud", years=3)
    assert again.headers["x-report-id"] == report_id and again.content == pdf


def _repaired(http, police, body):
    """A record pushed, then marked repaired as an approved repair leaves it."""
    from app.db import session_scope
    from app.models import Record

    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    with session_scope() as session:
        session.execute(
            update(Record)
            .where(Record.decision_no == body["decision_no"])
            .values(status="repaired", exited_at=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
        )


def test_a_special_report_lists_records_in_force_and_never_a_repaired_one(http, police, company):
    # A repair stops the publication (NDRC Order No. 36; DOMAIN.md): the special report, a public
    # document, shows no repaired record, nor the name only a repaired record carries.
    _repaired(
        http, police, record_body(1, external_id="ext-old", decision_no="旧第1号", decision_date="2025-03-01")
    )
    text = _text(_special(http, company, years=5).content)
    assert "北京星辰科技有限公司" in text and "电信网络诈骗" in text  # the record still in force
    assert "旧第1号" not in text and "已信用修复（" not in text
    assert "无公示中的记录。" in text  # the other domains
    repaired_only = make_uscc(78)
    subject = {"identifier": repaired_only, "name": "已修复贸易有限公司"}
    _repaired(http, police, record_body(2, subject=subject, decision_no="旧第2号"))
    repaired_text = _text(_special(http, repaired_only, years=5).content)
    never_listed = _text(_special(http, make_uscc(79), years=5).content)
    assert "已修复贸易有限公司" not in repaired_text and "旧第2号" not in repaired_text
    assert repaired_text.count("无公示中的记录。") == never_listed.count("无公示中的记录。")


def test_a_listing_decided_before_the_period_and_still_published_is_on_the_special_report(
    http, police, company
):
    # A serious listing decided a year and a half ago is published for three years: a report over
    # the last year must show it, not certify the domain clean.
    body = record_body(1, external_id="ext-older", decision_no="早第1号", decision_date="2025-06-01")
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    assert http.get(f"/v1/public/subjects/{company}").json()["black_count"] == 2
    text = _text(_special(http, company, domains="telecom_fraud", years=1).content)
    assert "早第1号" in text
    assert "无公示中的记录，" not in text
    assert "公示中的黑名单记录 2 条" in text


def test_special_reports_are_for_organisations_by_valid_code(http, configured, clock):
    clock(TODAY)
    from datetime import date

    person = make_resident_id(date(1985, 7, 9), 21)
    assert _special(http, person).status_code == 422
    assert _special(http, "91110000000000001X").status_code == 422  # check character wrong
    assert _special(http, make_uscc(5), domains="no_such_domain").status_code == 422
    assert _special(http, make_uscc(5), years=6).status_code == 422
    assert re.match(r"CR\d{8}-", _special(http, make_uscc(5), years=5).headers["x-report-id"])


def test_the_pdf_digest_changes_with_one_byte(http, company):
    answer = _special(http, company)
    pdf = bytearray(answer.content)
    pdf[len(pdf) // 3] ^= 1
    checked = http.post(f"/v1/public/reports/{answer.headers['x-report-id']}/verify", content=bytes(pdf))
    assert checked.json()["reason"] == "content_changed"
    assert hashlib.sha256(answer.content).hexdigest() == checked.json()["sha256"]


def test_without_a_truetype_font_reports_fall_back_and_still_read(tmp_path, monkeypatch):
    from datetime import date

    from app.kit.pdffonts import FALLBACK_FONT, cjk_font
    from app.public import report

    not_a_font = tmp_path / "broken.ttf"
    not_a_font.write_bytes(b"not a font")
    assert cjk_font(str(tmp_path / "missing.ttf")) == FALLBACK_FONT
    assert cjk_font(str(not_a_font)) == FALLBACK_FONT
    assert cjk_font() == "CJK-wqy-zenhei"  # fonts-wqy-zenhei, installed by scripts/setup
    content = report.special_content(
        identifier=make_uscc(3),
        name=None,
        kind=None,
        domains=[("tax_fraud", "税收")],
        records=[],
        years=1,
        report_id="CR20261120-TEST",
        issued_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        origin=ORIGIN,
    )
    assert content["period"]["from"] == date(2025, 11, 20)
    assert "无公示中的记录。" in _text(report.render_pdf(content))
    monkeypatch.setattr(get_settings(), "report_font", str(tmp_path / "missing.ttf"))
    fallback = report.render_pdf(content)
    assert not _embedded_fonts(fallback) and "无公示中的记录。" in _text(fallback)


def test_the_qr_code_decodes_to_the_verification_page(http, special_tools, company, tmp_path):
    """Rendered to PNG (poppler) and read by a QR decoder (zbar), as a phone's camera would."""
    import subprocess

    answer = http.get(f"/v1/public/subjects/{company}/report.pdf")
    (tmp_path / "report.pdf").write_bytes(answer.content)
    render = ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "report.pdf", "page"]
    subprocess.run(render, cwd=tmp_path, check=True)
    (png,) = tmp_path.glob("page*.png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, ARTIFACTS / "credit-report-page-1.png")
    read = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, check=True)
    assert read.stdout.strip() == f"{ORIGIN}/reports/{answer.headers['x-report-id']}"


@pytest.mark.parametrize(
    "body",
    [
        b'{"report_id": 123456789012345678901234567890}',  # beyond 64 bits
        b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}",  # nested past any parser's recursion
        b'{"a": "\\ud800"}',  # a lone surrogate
        b"{\xff\xfe}",  # not UTF-8
    ],
)
def test_json_no_report_holds_is_judged_not_a_server_error(http, company, body):
    report_id = http.get(f"/v1/public/subjects/{company}/report.json").json()["report_id"]
    checked = http.post(f"/v1/public/reports/{report_id}/verify", content=body)
    assert checked.status_code == 200 and checked.json()["reason"] == "content_changed"


@pytest.fixture
def admin(token_for):
    return token_for("national.market_regulation", "admin")


def test_a_code_merged_into_a_listed_subject_gets_no_clean_special_report(http, police, admin, company):
    # 测试科技有限公司2 turns out to be 北京星辰科技有限公司 (listed): its code now leads there, and a
    # special report asked under it must not certify "no record in force".
    body = record_body(2, list_type="red", severity="general", decision_date="2026-11-18")
    del body["notice"]
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    merge = {"from": make_uscc(2), "into": company, "reason": "同一企业"}
    assert http.post("/v1/admin/subjects/merge", json=merge, headers=admin).status_code == 200
    text = _text(_special(http, make_uscc(2), domains="telecom_fraud").content)
    assert "无公示中的记录。" not in text, text
    assert "北京星辰科技有限公司" in text and "公刑罚字〔2026〕1号" in text
