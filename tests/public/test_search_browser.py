"""Searching as a citizen does, on a phone in Debian's Chromium (the fixtures of test_browser.py): a
two-character trade name and a homophone find the company; a miss says it is not a clean bill and
where a special report is had. Screenshots are kept in test-artifacts/browser/."""

from tests.conftest import make_uscc, record_body
from tests.public.test_browser import PHONE, browser, server, shot  # noqa: F401 (fixtures)


def _listed(http, police, clock) -> None:
    clock("2026-11-20T10:00")
    bodies = [
        record_body(1, subject={"name": "枣庄市鑫达通讯器材有限公司"}, decision_date="2026-11-18"),
        record_body(2, subject={"name": "枣庄市新达建材有限公司"}, decision_date="2026-11-18"),
    ]
    answer = http.post("/v1/records/batch", json={"records": bodies}, headers=police)
    assert answer.status_code == 200 and answer.json()["created"] == 2, answer.text


def _phone(browser):  # noqa: F811
    return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN")


def _search(tab, query: str) -> None:
    tab.fill("#q", query)
    tab.click("button[type=submit]")
    tab.wait_for_load_state()


def test_a_phone_finds_a_company_by_its_trade_name_and_by_a_homophone(server, browser, http, police, clock):  # noqa: F811
    _listed(http, police, clock)
    context = _phone(browser)
    tab = context.new_page()
    try:
        tab.goto(f"{server}/")
        _search(tab, "鑫达")
        tab.wait_for_selector("ul.results")
        names = tab.locator("ul.results li strong").all_inner_texts()
        assert names[0] == "枣庄市鑫达通讯器材有限公司", names
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(tab, "search-1-phone-two-characters")

        _search(tab, "鑫达通迅")  # 迅 for 讯, as a pinyin input method offers it
        tab.wait_for_selector("ul.results")
        assert tab.locator("ul.results li strong").first.inner_text() == "枣庄市鑫达通讯器材有限公司"
        assert tab.locator("#no-result").count() == 0
        shot(tab, "search-2-phone-homophone")
    finally:
        context.close()


def test_a_miss_on_a_phone_is_not_read_as_clean(server, browser, http, police, clock):  # noqa: F811
    _listed(http, police, clock)
    context = _phone(browser)
    tab = context.new_page()
    try:
        tab.goto(f"{server}/")
        _search(tab, "查无此名贸易公司")
        tab.wait_for_selector("#no-result")
        said = tab.inner_text("#no-result")
        assert "这不代表该主体不存在失信行为" in said
        assert "共享或受限使用" in said and "已修复" in said and "其他信用平台" in said
        assert tab.locator("ul.results").count() == 0
        # No code given: the link leads to how a special report is had.
        tab.click("text=如何获取专项信用报告")
        assert tab.locator("#special-report-help").is_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(tab, "search-3-phone-miss")

        # An organisation's full code with nothing in public force: the link is its special report.
        code = make_uscc(77)
        _search(tab, code)
        tab.wait_for_selector("#no-result")
        link = tab.locator("#no-result a", has_text="专项信用报告")
        assert link.get_attribute("href") == f"/v1/public/subjects/{code}/special-report.pdf"
        shot(tab, "search-4-phone-miss-by-code")
    finally:
        context.close()
