"""The progress page in a real browser (headless Chromium, as tests/public/test_browser.py drives it):
a rejected repair's decision downloaded and read back, and its appeal filed from the page."""

import io

from pypdf import PdfReader

from tests.cases.helpers import TENTH_WORKDAY, apply, decide, listed
from tests.conftest import POLICE
from tests.public.test_browser import browser, page, server, shot  # noqa: F401  (fixtures)


def test_download_the_rejection_and_appeal_it(server, page, http, police, token_for, clock, tmp_path):  # noqa: F811
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    decide(http, reviewer, created["id"], "rejected", "未提供完税证明")
    clock("2026-10-12T09:00")

    page.goto(f"{server}/progress?code={created['query_code']}")
    page.wait_for_selector("#appeal-form")
    assert TENTH_WORKDAY in page.inner_text("#appeal-by")
    shot(page, "11-progress-rejected")
    with page.expect_download() as download_info:
        page.click("#decision-links >> text=下载 PDF")
    saved = tmp_path / "decision.pdf"
    download_info.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert "不予信用修复" in text and TENTH_WORKDAY in text and created["query_code"] not in text

    page.click("#appeal-form >> text=提交申诉")
    page.wait_for_selector("#statement-error")
    page.fill("#contact", "0632-7654321")
    page.fill("#statement", "完税证明已随申请提交，请信用办复核。")
    page.click("#appeal-form >> text=提交申诉")
    page.wait_for_selector("#appeal-status")
    assert page.inner_text("#appeal-status") == "已受理，信用办复核中"
    assert page.query_selector("#appeal-form") is None
    shot(page, "12-progress-appealed")
