"""The notice page (失信告知与陈述申辩) without a browser: the subject reads the notice by its query
code and states a defence; refusals in plain Chinese, nothing stored from a refused form."""

import re

import pytest

from tests.notices.test_notices import notice_body


@pytest.fixture
def code(http, police):
    answer = http.post(
        "/v1/notices", json=notice_body(1, subject={"name": "北京星辰科技有限公司"}), headers=police
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["query_code"]


def test_the_page_shows_reasons_basis_rights_and_the_form(http, code):
    page = http.get("/notices", params={"code": code})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in (
        "北京星辰科技有限公司",
        "公安部",
        "为电信网络诈骗提供支付结算帮助",
        "《中华人民共和国反电信网络诈骗法》第三十一条",
        "2026-11-27",
        "陈述申辩",
        "异议",
        "信用修复",
        'name="statement"',
    ):
        assert text in page.text, text
    assert "<script" not in page.text
    blank = http.get("/notices")
    assert blank.status_code == 200 and 'name="code"' in blank.text


def test_an_unknown_code_is_explained(http, code):
    page = http.get("/notices", params={"code": "AAAA-BBBB-CCCC-DDDD"})
    assert page.status_code == 404 and "未找到该查询码对应的告知" in page.text


def _token(http, code: str) -> dict[str, str]:
    """Open the notice's page as a browser would (its cookie kept by the client): the form's token."""
    page = http.get("/notices", params={"code": code})
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)}


def test_a_statement_is_submitted_once(http, code):
    form = {"code": code, "statement": "涉案账户系被他人冒用。", "contact": "13800000000"} | _token(
        http, code
    )
    page = http.post("/notices", data=form)
    assert page.status_code == 201 and "陈述申辩已提交" in page.text and "涉案账户系被他人冒用。" in page.text
    assert 'name="statement"' not in page.text  # the form is gone
    assert http.get(f"/v1/public/notices/{code}").json()["statement"]["statement"] == "涉案账户系被他人冒用。"
    again = http.post("/notices", data=form | {"statement": "再次提交"})
    assert again.status_code == 409 and "只能提交一次" in again.text


def test_empty_fields_are_named_in_chinese_and_nothing_is_stored(http, code):
    page = http.post("/notices", data={"code": code, "statement": "", "contact": ""} | _token(http, code))
    assert page.status_code == 422
    assert 'id="statement-error"' in page.text and 'id="contact-error"' in page.text
    assert "请填写此项" in page.text
    assert http.get(f"/v1/public/notices/{code}").json()["statement"] is None


def test_after_respond_by_the_page_says_the_period_is_over(http, code, clock):
    token = _token(http, code)  # the form as opened before the period ended
    clock("2026-11-28T09:00")
    page = http.get("/notices", params={"code": code})
    assert "陈述申辩期限已于 2026-11-27 届满" in page.text and 'name="statement"' not in page.text
    late_form = {"code": code, "statement": "迟到", "contact": "13800000000"} | token
    late = http.post("/notices", data=late_form)
    assert late.status_code == 422 and "2026-11-27" in late.text
    assert http.get(f"/v1/public/notices/{code}").json()["statement"] is None
