"""Reports and forms in Debian's Chromium (the fixtures of test_browser.py): the special report
downloaded from an organisation's page and from a search miss, a report verified on its page as
genuine and, one byte changed, as not; evidence uploaded on the repair form; the API docs with no
internet. Screenshots are kept in test-artifacts/browser/."""

import io

import httpx
from pypdf import PdfReader

from tests.conftest import make_uscc
from tests.public.test_browser import ARTIFACTS, browser, listed, page, server, shot  # noqa: F401 (fixtures)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _verify_on_the_page(page, server, report_id, path) -> str:  # noqa: F811
    page.goto(f"{server}/reports/{report_id}")
    page.set_input_files("#file", str(path))
    page.click("text=核验文件")
    page.wait_for_selector("#verdict")
    return page.inner_text("#verdict")


def test_special_report_from_the_entity_page_verifies(server, page, listed, tmp_path):  # noqa: F811
    ref = httpx.get(f"{server}/v1/public/subjects/{make_uscc(1)}").json()["subject"]["ref"]
    page.goto(f"{server}/subjects/{ref}")
    with page.expect_download() as download_info:
        page.click("#special-report")
    download = download_info.value
    saved = tmp_path / "special.pdf"
    download.save_as(saved)
    text = _text(saved.read_bytes())
    assert "专项信用报告（信用代证）" in text and "北京星辰科技有限公司" in text
    assert "电信网络诈骗" in text and "无公示中的记录。" in text
    report_id = download.suggested_filename.removesuffix(".pdf")
    assert f"/reports/{report_id}" in text
    verdict = _verify_on_the_page(page, server, report_id, saved)
    assert verdict.startswith("真实有效") and "文件未被改动" in verdict
    assert "专项信用报告" in page.content()
    shot(page, "reports-1-special-verified")


def test_a_clean_organisation_gets_its_special_report_from_a_search_miss(server, page, tmp_path):  # noqa: F811
    clean = make_uscc(42)
    page.goto(f"{server}/?q={clean}")
    page.wait_for_selector("text=专项信用报告（PDF）")
    shot(page, "reports-2-search-miss")
    with page.expect_download() as download_info:
        page.click("text=专项信用报告（PDF）")
    saved = tmp_path / "clean.pdf"
    download_info.value.save_as(saved)
    text = _text(saved.read_bytes())
    assert clean in text and "无公示中的记录。" in text and "第 1 页 共" in text


def test_a_tampered_report_is_not_genuine_on_its_page(server, page, listed, tmp_path):  # noqa: F811
    answer = httpx.get(f"{server}/v1/public/subjects/{make_uscc(1)}/report.pdf")
    report_id = answer.headers["x-report-id"]
    genuine = tmp_path / "genuine.pdf"
    genuine.write_bytes(answer.content)
    assert _verify_on_the_page(page, server, report_id, genuine).startswith("真实有效")
    shot(page, "reports-3-genuine")
    tampered = bytearray(answer.content)
    tampered[len(tampered) // 2] ^= 1
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(tampered))
    verdict = _verify_on_the_page(page, server, report_id, changed)
    assert verdict.startswith("未通过核验") and "可能被改动" in verdict
    assert "真实有效" not in page.content()
    shot(page, "reports-4-tampered")
    page.goto(f"{server}/reports/CR20261120-AAAAAAAAAAAA")
    assert "本系统没有出具过该编号的报告" in page.inner_text("#verdict")


def test_evidence_uploaded_on_the_repair_form(server, page, listed, tmp_path):  # noqa: F811
    receipt, photo = tmp_path / "缴款凭证.pdf", tmp_path / "整改照片.png"
    receipt.write_bytes(PDF)
    photo.write_bytes(PNG)
    page.goto(f"{server}/records/{listed['id']}/repair")
    assert "信用修复指南" in page.inner_text("#repair-guide")
    assert "每个不超过 5 MB" in page.content()
    page.fill("#applicant_name", "北京星辰科技有限公司")
    page.fill("#contact", "010-12345678")
    page.fill("#statement", "已全额缴纳罚款，并完成整改。")
    page.select_option("#evidence_kind", "fine_paid")
    page.fill("#evidence_description", "罚款缴纳凭证与整改照片")
    page.set_input_files("#files", [str(receipt), str(photo)])
    page.check("#commitment")
    shot(page, "reports-5-repair-with-files")
    page.click("text=提交申请")
    page.wait_for_selector("#query-code")
    assert "已收到证明材料文件 2 个" in page.inner_text("#files-received")
    shot(page, "reports-6-repair-filed-with-files")


def test_the_api_docs_load_with_no_internet(server, page):  # noqa: F811
    outside: list[str] = []

    def only_here(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(f"{server}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Credit red/black list registry" in page.inner_text(".swagger-ui .info .title")
    shot(page, "reports-7-docs-offline")
    page.goto(f"{server}/redoc")
    page.wait_for_function("document.body.innerText.includes('special report')", timeout=30_000)
    # The whole ReDoc page is too tall to capture: its first screen.
    page.screenshot(path=str(ARTIFACTS / "reports-8-redoc-offline.png"))
    # Nothing the pages need comes from elsewhere; ReDoc's own "by Redocly" footer logo is the one
    # thing it asks the internet for, and without it the documentation is the same.
    assert [url for url in outside if not url.endswith("/redoc/logo-mini.svg")] == []
