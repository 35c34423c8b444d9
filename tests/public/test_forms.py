"""Forms that work for a person: evidence uploaded on the repair form itself, the repair guide per
domain, who runs the site on every page, a privacy statement, and API docs that need no internet."""

import re
import tomllib
from pathlib import Path

import pytest

from app.config import get_settings
from app.db import session_scope
from app.models import Case, CaseFile
from tests.conftest import record_body

TODAY = "2026-11-20T10:00"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def listed(http, police, clock):
    clock(TODAY)
    body = record_body(
        1, subject={"name": "北京星辰科技有限公司"}, severity="general", decision_date="2026-05-28"
    )
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _token(http, form_page: str) -> dict[str, str]:
    page = http.get(form_page)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)}


def _form(http, listed) -> dict[str, str]:
    return {
        "applicant_name": "北京星辰科技有限公司",
        "contact": "010-12345678",
        "statement": "已全额缴纳罚款并完成整改",
        "evidence_kind": "fine_paid",
        "evidence_description": "罚款缴纳凭证",
        "commitment": "yes",
    } | _token(http, f"/records/{listed['id']}/repair")


def _counts() -> tuple[int, int]:
    with session_scope(writing=False) as session:
        return session.query(Case).count(), session.query(CaseFile).count()


def test_the_repair_form_shows_the_guide_and_the_upload_limits(http, listed):
    page = http.get(f"/records/{listed['id']}/repair")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    assert 'accept="application/pdf,image/jpeg,image/png"' in page.text
    assert "PDF、JPEG、PNG，每个不超过 5 MB" in page.text
    assert "信用修复指南：电信网络诈骗领域" in page.text
    assert "涉案电话卡、银行账户已依法处置的证明材料" in page.text  # the domain's own materials
    assert "信用修复申请书" in page.text  # and the common ones


def test_evidence_files_go_with_the_application(http, listed):
    files = [("files", ("缴款凭证.pdf", PDF, "application/pdf")), ("files", ("回单.png", PNG, "image/png"))]
    page = http.post(f"/records/{listed['id']}/repair", data=_form(http, listed), files=files)
    assert page.status_code == 201, page.text
    assert "已收到证明材料文件 2 个" in page.text
    code = re.search(r'id="query-code">([A-Z0-9-]+)<', page.text).group(1)
    assert _counts() == (1, 2)
    with session_scope(writing=False) as session:
        stored = {f.filename: f.content_type for f in session.query(CaseFile)}
    assert stored == {"缴款凭证.pdf": "application/pdf", "回单.png": "image/png"}
    assert http.get(f"/v1/public/repairs/{code}").json()["status"] == "submitted"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("说明.docx", b"PK\x03\x04 not a pdf", "application/pdf"), "不是 PDF、JPEG 或 PNG 文件"),
        (("大文件.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf"), "超过 5 MB"),
    ],
)
def test_a_refused_file_stores_nothing_of_the_application(http, listed, upload, message):
    files = [("files", ("缴款凭证.pdf", PDF, "application/pdf")), ("files", upload)]
    page = http.post(f"/records/{listed['id']}/repair", data=_form(http, listed), files=files)
    assert page.status_code == 422
    assert 'id="files-error"' in page.text and message in page.text and "申请未提交" in page.text
    assert 'value="北京星辰科技有限公司"' in page.text  # what was typed stays
    assert _counts() == (0, 0)


def test_more_files_than_the_form_takes_are_refused(http, listed):
    files = [("files", (f"{n}.pdf", PDF, "application/pdf")) for n in range(6)]
    page = http.post(f"/records/{listed['id']}/repair", data=_form(http, listed), files=files)
    assert page.status_code == 422 and "本页一次最多上传 5 个文件" in page.text
    assert _counts() == (0, 0)


def test_an_empty_file_input_is_no_file(http, listed):
    files = [("files", ("", b"", "application/octet-stream"))]
    page = http.post(f"/records/{listed['id']}/repair", data=_form(http, listed), files=files)
    assert page.status_code == 201 and _counts() == (1, 0)


def test_every_domain_of_the_repair_guide_is_in_the_catalog(http):
    guide = tomllib.loads((Path("app/public/repair_guide.toml")).read_text("utf-8"))
    codes = {domain["code"] for domain in http.get("/v1/domains").json()}
    assert set(guide["domains"]) <= codes
    assert all(entry["materials"] for entry in guide["domains"].values())


def test_every_page_says_who_runs_the_site(http, listed, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "operator_name", "示范市信用信息中心")
    monkeypatch.setattr(settings, "operator_contact", "0571-87654321")
    monkeypatch.setattr(settings, "operator_registration", "浙ICP备12345678号")
    for path in ("/", "/progress", "/notices", f"/records/{listed['id']}/repair", "/privacy"):
        page = http.get(path)
        footer = page.text.split('<footer id="site-footer">')[1]
        for text in ("示范市信用信息中心", "0571-87654321", "浙ICP备12345678号", 'href="/privacy">隐私声明'):
            assert text in footer, (path, text)
    monkeypatch.setattr(settings, "privacy_url", "https://credit.example.gov.cn/privacy.html")
    assert 'href="https://credit.example.gov.cn/privacy.html">隐私声明' in http.get("/").text


def test_the_privacy_statement(http):
    page = http.get("/privacy")
    assert page.status_code == 200
    assert "隐私声明" in page.text and "个人信息保护法" in page.text and "身份证件号码" in page.text


def test_the_api_docs_need_no_internet(http):
    for path in ("/docs", "/redoc"):
        page = http.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(source.startswith("/") for source in sources), sources
        assert "cdn" not in page.text.lower() and "fonts.googleapis" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        answer = http.get(f"/docs-assets/{asset}")
        assert answer.status_code == 200 and len(answer.content) > 100_000, asset


def _filed(http, listed) -> str:
    page = http.post(f"/records/{listed['id']}/repair", data=_form(http, listed))
    assert page.status_code == 201, page.text
    return re.search(r'id="query-code">([A-Z0-9-]+)<', page.text).group(1)


def test_more_evidence_from_the_progress_page(http, listed):
    code = _filed(http, listed)
    progress = http.get("/progress", params={"code": code})
    assert 'action="/progress/files"' in progress.text and "尚未上传证明材料文件" in progress.text
    token = _token(http, f"/progress?code={code}")
    sent = http.post(
        "/progress/files",
        data={"code": code} | token,
        files=[("files", ("补充说明.pdf", PDF, "application/pdf"))],
    )
    assert sent.status_code == 201 and "已上传 1 个文件" in sent.text and "补充说明.pdf" in sent.text
    refused = http.post(
        "/progress/files",
        data={"code": code} | token,
        files=[("files", ("ok.png", PNG, "image/png")), ("files", ("x.exe", b"MZ\x90", "image/png"))],
    )
    assert refused.status_code == 422 and "本次上传的文件均未保存" in refused.text
    assert _counts() == (1, 1)
    assert http.post("/progress/files", data={"code": code} | token).status_code == 422  # no file chosen


def test_a_decided_case_takes_no_more_files(http, listed, police):
    code = _filed(http, listed)
    with session_scope() as session:
        session.query(Case).update({"status": "approved"})
    page = http.get("/progress", params={"code": code})
    assert 'action="/progress/files"' not in page.text
    token = _token(http, f"/records/{listed['id']}/objection")  # a form kept from before the decision
    sent = http.post(
        "/progress/files", data={"code": code} | token, files=[("files", ("a.pdf", PDF, "application/pdf"))]
    )
    assert sent.status_code == 409 and "已办结" in sent.text and _counts() == (1, 0)
