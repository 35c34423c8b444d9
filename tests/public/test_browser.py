"""The web pages in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

The app is served by uvicorn in a thread on a free loopback port, over the test database. Screenshots
are kept in test-artifacts/browser/ (desktop and phone sizes) for a person to look at.
"""

import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.main import app
from tests.conftest import make_uscc, record_body

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("browser tests need /usr/bin/chromium (scripts/setup test installs it)")
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        raise RuntimeError("uvicorn did not start")
    yield base
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    # The pages' Content-Security-Policy must allow everything they use: Chromium reports on the
    # console whatever it refused (a style, a script, a form target).
    refused: list[str] = []
    tab.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    yield tab
    context.close()
    assert not refused, refused


@pytest.fixture
def listed(http, police, clock):
    clock("2026-11-20T10:00")
    # General severity decided in May: past its minimum period, so repair may be applied for.
    body = record_body(
        1, subject={"name": "北京星辰科技有限公司"}, severity="general", decision_date="2026-05-28"
    )
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_search_open_the_entity_and_download_the_report(server, page, listed, tmp_path):
    page.goto(f"{server}/")
    # The style sheet applies under the policy (the header's red comes from it).
    assert page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor") == "rgb(184, 32, 42)"
    page.fill("#q", "星辰科技")
    page.click("button[type=submit]")
    page.wait_for_selector("ul.results")
    shot(page, "1-search-results")
    page.click("text=北京星辰科技有限公司")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "北京星辰科技有限公司"
    assert "电信网络诈骗" in page.content() and "公安部" in page.content()
    assert "认定部门有 1 条记录在决定作出 7 个工作日后才报送" in page.inner_text("#late-disclosures")
    shot(page, "2-entity")

    with page.expect_download() as download_info:
        page.click("#report-pdf")
    download = download_info.value
    saved = tmp_path / "report.pdf"
    download.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-")
    report_id = download.suggested_filename.removesuffix(".pdf")
    verified = httpx.get(f"{server}/v1/public/reports/{report_id}").json()
    assert verified["genuine"] and verified["sha256"] == hashlib.sha256(pdf).hexdigest()

    page.goto(f"{server}/reports/{report_id}")
    page.set_input_files("#file", str(saved))
    page.click("text=核验文件")
    page.wait_for_selector("#verdict")
    assert "文件未被改动" in page.inner_text("#verdict")
    shot(page, "3-report-verified")


def test_file_a_repair_application_and_follow_it(server, page, listed):
    ref = httpx.get(f"{server}/v1/public/subjects/{make_uscc(1)}").json()["subject"]["ref"]
    page.goto(f"{server}/subjects/{ref}")
    page.click("text=申请信用修复")
    page.wait_for_selector("#applicant_name")
    page.fill("#applicant_name", "北京星辰科技有限公司")
    page.click("text=提交申请")
    page.wait_for_selector("#contact-error")
    assert page.inner_text("#contact-error") == "请填写此项。"
    assert "信用承诺" in page.inner_text("#commitment-error")
    shot(page, "4-repair-errors")

    page.fill("#contact", "010-12345678")
    page.fill("#statement", "已全额缴纳罚款，并完成整改。")
    page.select_option("#evidence_kind", "fine_paid")
    page.fill("#evidence_description", "罚款缴纳凭证（京财罚〔2026〕88号）")
    page.check("#commitment")
    page.click("text=提交申请")
    page.wait_for_selector("#query-code")
    code = page.inner_text("#query-code")
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)
    shot(page, "5-repair-filed")

    page.click("text=查看办理进度")
    page.wait_for_selector("#case-status")
    assert page.inner_text("#case-status") == "已受理，办理中"
    shot(page, "6-progress")


def test_pages_fit_a_phone(server, browser, listed):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN")
    tab = context.new_page()
    try:
        tab.goto(f"{server}/?q=zhangsan")
        tab.goto(f"{server}/?q=北京星辰")
        tab.wait_for_selector("ul.results")
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(tab, "7-phone-search")
        tab.click("text=北京星辰科技有限公司")
        tab.wait_for_selector("h1")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(tab, "8-phone-entity")
    finally:
        context.close()


def test_file_an_objection_and_another_site_cannot_post_one(server, page, listed):
    ref = httpx.get(f"{server}/v1/public/subjects/{make_uscc(1)}").json()["subject"]["ref"]
    page.goto(f"{server}/subjects/{ref}")
    page.click("text=提出异议")
    page.wait_for_selector("#reason")

    # Meanwhile another site, holding a token it fetched for itself, makes this browser post the form.
    action = f"{server}/records/{listed['id']}/objection"
    own_token = re.search(r'name="csrf_token" value="([^"]+)"', httpx.get(action).text).group(1)
    forged = page.context.new_page()
    forged.set_content(
        f'<form method="post" action="{action}"><input name="csrf_token" value="{own_token}">'
        '<input name="contact" value="1"><input name="reason" value="not_mine">'
        '<input name="statement" value="伪造的异议"><button>go</button></form>'
    )
    forged.click("text=go")
    forged.wait_for_selector("[role=alert]")
    assert "表单已失效" in forged.inner_text("[role=alert]")
    shot(forged, "9-forged-objection-refused")
    forged.close()

    page.fill("#contact", "010-12345678")
    page.select_option("#reason", "inaccurate")
    page.fill("#statement", "决定日期有误，应为 2026 年 5 月 27 日。")
    page.click("text=提交异议")
    page.wait_for_selector("#query-code")
    shot(page, "10-objection-filed")
    page.goto(f"{server}/subjects/{ref}")
    assert "异议处理中" in page.content()
