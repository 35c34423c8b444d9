"""The notice page and the repair notice in a real browser (issue 15): the subject reads the notice on
a phone and states a defence; the repair notice PDF the agency downloads. Uses the browser fixtures of
tests/public/test_browser.py (skipped where there is no Chromium)."""

from pypdf import PdfReader

from tests.conftest import record_body
from tests.notices.test_notices import notice_body
from tests.public import test_browser as browser_tests
from tests.public.test_browser import PHONE, shot

# The browser tests' fixtures, shared (this module is skipped with them where there is no Chromium).
server = browser_tests.server
browser = browser_tests.browser


def test_the_subject_reads_the_notice_on_a_phone_and_states_a_defence(server, browser, http, police):
    body = notice_body(1, subject={"name": "北京星辰科技有限公司"})
    code = http.post("/v1/notices", json=body, headers=police).json()["query_code"]
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN")
    tab = context.new_page()
    try:
        tab.goto(f"{server}/notices")
        tab.fill("#code", code)
        tab.click("text=查看告知")
        tab.wait_for_selector("#rights")
        assert "2026年11月27日" in tab.inner_text("#rights")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(tab, "notice-1-read")

        tab.click("text=提交陈述申辩")
        tab.wait_for_selector("#statement-error")
        assert tab.inner_text("#statement-error") == "请填写此项。"
        tab.fill("#statement", "涉案银行账户系被他人冒用，已于案发当日向公安机关报案。")
        tab.fill("#contact", "13800000000")
        tab.click("text=提交陈述申辩")
        tab.wait_for_selector("#statement")
        assert "陈述申辩已提交" in tab.inner_text("#statement")
        shot(tab, "notice-2-stated")
    finally:
        context.close()


def test_the_agency_downloads_the_repair_notice_pdf(server, browser, http, police, tmp_path):
    record = http.post("/v1/records", json=record_body(2), headers=police).json()
    context = browser.new_context(locale="zh-CN", extra_http_headers=police)
    try:
        answer = context.request.get(f"{server}/v1/records/{record['id']}/repair-notice.pdf")
        assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
        saved = tmp_path / "repair-notice.pdf"
        saved.write_bytes(answer.body())
        text = "".join(page.extract_text() for page in PdfReader(saved).pages)
        assert "信用修复告知书" in text and "2027年11月18日" in text
        tab = context.new_page()
        tab.goto(f"{server}/v1/records/{record['id']}/repair-notice.json")
        assert '"earliest_repair_date":"2027-11-18"' in tab.inner_text("body").replace(" ", "")
    finally:
        context.close()
