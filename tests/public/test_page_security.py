"""What browsers are told about the pages (security headers), forms another site cannot post (a
token matching the browser's cookie), and bodies refused as they arrive, as pages or as JSON."""

import base64
import hashlib
import re

import pytest
from sqlalchemy import func, select

from app.cases.models import Case
from app.db import session_scope
from tests.conftest import make_uscc, record_body

MiB = 1024 * 1024


@pytest.fixture
def listed(http, police, clock):
    clock("2026-11-20T10:00")
    body = record_body(
        1, subject={"name": "北京星辰科技有限公司"}, severity="general", decision_date="2026-05-28"
    )
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _pages(http, listed) -> list[str]:
    ref = http.get(f"/v1/public/subjects/{make_uscc(1)}").json()["subject"]["ref"]
    report_id = http.get(f"/v1/public/subjects/{make_uscc(1)}/report.pdf").headers["x-report-id"]
    return [
        "/",
        "/?q=星辰科技",
        f"/subjects/{ref}",
        f"/records/{listed['id']}/repair",
        f"/records/{listed['id']}/objection",
        "/progress?code=AAAA-BBBB-CCCC-DDDD",
        f"/reports/{report_id}",
        "/subjects/00000000-0000-0000-0000-000000000000",  # the error page
    ]


def _token(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def _cases() -> int:
    with session_scope(writing=False) as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_every_page_tells_browsers_not_to_frame_sniff_or_run_anything_else(http, listed):
    for path in _pages(http, listed):
        page = http.get(path)
        assert page.headers["content-type"].startswith("text/html"), path
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-content-type-options"] == "nosniff"
        # What the page carries is what the policy allows: its style sheet by hash, no script, no
        # style attributes (a policy without 'unsafe-inline' would make a browser drop them).
        for block in re.findall(r"<style>(.*?)</style>", page.text, re.S):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy, path
        assert "<script" not in page.text and " style=" not in page.text, path


def test_api_answers_are_not_sniffed_and_the_docs_are_never_framed(http):
    assert http.get("/v1/domains").headers["x-content-type-options"] == "nosniff"
    assert http.get("/v1/public/subjects/nobody").headers["x-content-type-options"] == "nosniff"
    docs = http.get("/docs")
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"  # its scripts still load
    assert docs.headers["x-frame-options"] == "DENY"


def test_no_shared_cache_keeps_an_answer_but_the_docs_assets_may(http, token_for):
    # A proxy that kept a public lookup would serve a listing after it was withdrawn; one that kept
    # a government view would hand a person's data to the next caller.
    police = token_for("national.public_security", "records:read")
    for answer in (
        http.get("/v1/public/subjects/nobody"),
        http.get("/v1/public/search", params={"q": "星辰"}),
        http.get("/"),
        http.get("/v1/records", headers=police),
    ):
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assets = re.findall(r'src="(/docs-assets/[^"]+)"', http.get("/docs").text)
    assert assets and "cache-control" not in http.get(assets[0]).headers


@pytest.mark.parametrize("form", ["repair", "objection"])
def test_a_form_posted_without_its_token_stores_nothing(http, listed, form):
    fields = {
        "repair": {
            "applicant_name": "北京星辰科技有限公司",
            "contact": "010-12345678",
            "statement": "已全额缴纳罚款",
            "evidence_kind": "fine_paid",
            "evidence_description": "凭证",
            "commitment": "yes",
        },
        "objection": {"contact": "010-1", "reason": "inaccurate", "statement": "决定日期有误"},
    }[form]
    path = f"/records/{listed['id']}/{form}"
    # Another site's page posting the form: no cookie, no token.
    refused = http.post(path, data=fields)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "表单已失效" in refused.text
    # A token another browser was given (the attacker's own) does not match this browser's cookie.
    attackers = _token(http.get(path).text)
    http.cookies.clear()
    mine = _token(http.get(path).text)
    assert mine != attackers
    assert http.post(path, data=fields | {"csrf_token": attackers}).status_code == 403
    assert http.post(path, data=fields | {"csrf_token": ""}).status_code == 403
    assert _cases() == 0
    # This browser's own form, as its page gave it: accepted.
    accepted = http.post(path, data=fields | {"csrf_token": mine})
    assert accepted.status_code == 201, accepted.text
    assert _cases() == 1


def test_the_form_cookie_is_strict_and_out_of_scripts_reach(http, listed):
    page = http.get(f"/records/{listed['id']}/objection")
    cookie = page.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    again = http.get(f"/records/{listed['id']}/objection")
    assert "set-cookie" not in again.headers and _token(again.text) == _token(page.text)


def test_report_verification_form_needs_its_token(http, listed):
    report = http.get(f"/v1/public/subjects/{make_uscc(1)}/report.pdf")
    path = f"/reports/{report.headers['x-report-id']}"
    upload = {"file": ("r.pdf", report.content, "application/pdf")}
    assert http.post(path, files=upload).status_code == 403
    token = _token(http.get(path).text)
    checked = http.post(path, data={"csrf_token": token}, files=upload)
    assert checked.status_code == 200 and "文件未被改动" in checked.text


def test_an_oversized_upload_on_a_page_is_refused_with_a_chinese_page(http, listed):
    report = http.get(f"/v1/public/subjects/{make_uscc(1)}/report.pdf")
    path = f"/reports/{report.headers['x-report-id']}"
    token = _token(http.get(path).text)
    huge = {"file": ("r.pdf", b"%PDF-" + b"0" * (6 * MiB), "application/pdf")}
    refused = http.post(path, data={"csrf_token": token}, files=huge)
    assert refused.status_code == 413 and refused.headers["content-type"].startswith("text/html")
    assert "提交的内容过大（不能超过 5 MB）" in refused.text
    assert refused.headers["content-security-policy"].endswith("frame-ancestors 'none'")


def test_an_oversized_body_to_the_api_is_refused_with_json(http):
    too_large = {"error": "payload_too_large", "detail": f"the request body may be at most {32 * MiB} bytes"}
    declared = http.post("/v1/public/reports/CR20261120-AAAAAAAAAAAA/verify", content=b"0" * (33 * MiB))
    assert declared.status_code == 413 and declared.json() == too_large

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"0" * MiB

    streamed = http.post(
        "/v1/public/objections", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json() == too_large
    assert streamed.headers["connection"] == "close"


def test_uploads_of_evidence_get_five_mebibytes_per_file(http):
    path = "/v1/public/cases/AAAA-BBBB-CCCC-DDDD/files"
    refused = http.post(path, files={"file": ("big.pdf", b"%PDF-" + b"0" * (6 * MiB), "application/pdf")})
    assert refused.status_code == 413 and refused.json()["error"] == "payload_too_large"
    at_the_limit = http.post(
        path, files={"file": ("a.pdf", b"%PDF-" + b"0" * (5 * MiB - 5), "application/pdf")}
    )
    assert at_the_limit.status_code == 404  # read and passed on: no case has that query code


def test_every_operation_with_a_body_declares_413_and_408(http):
    document = http.get("/openapi.json").json()
    with_body = [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) > 10
    for path, method, operation in with_body:
        assert {"408", "413"} <= set(operation["responses"]), (method, path)
        assert operation["responses"]["413"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
