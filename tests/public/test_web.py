"""The web pages without a browser: what they show, and forms refused with Chinese errors by the field."""

import re

import pytest

from app.db import session_scope
from app.models import Case
from tests.conftest import make_uscc, record_body

TODAY = "2026-11-20T10:00"


@pytest.fixture
def listed(http, police, clock):
    clock(TODAY)
    # General severity decided in May: the minimum period (3 months) is over, repair may be applied for.
    body = record_body(
        1, subject={"name": "北京星辰科技有限公司"}, severity="general", decision_date="2026-05-28"
    )
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _ref(http) -> str:
    return http.get(f"/v1/public/subjects/{make_uscc(1)}").json()["subject"]["ref"]


def _token(http, form_page: str) -> dict[str, str]:
    """Open the form's page as a browser would (its cookie kept by the client): the form's token."""
    page = http.get(form_page)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)}


def test_search_page_lists_results_and_links_the_entity(http, listed):
    page = http.get("/", params={"q": "星辰科技"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text and 'name="viewport"' in page.text
    assert "北京星辰科技有限公司" in page.text and f"/subjects/{_ref(http)}" in page.text
    assert "<script" not in page.text  # works without JavaScript


def test_too_short_a_query_is_explained_next_to_the_field(http, listed):
    page = http.get("/", params={"q": "星"})
    assert page.status_code == 422
    assert 'id="q-error"' in page.text and "请至少输入两个字" in page.text


def test_entity_page_shows_records_late_disclosures_and_report_link(http, listed):
    page = http.get(f"/subjects/{_ref(http)}")
    assert page.status_code == 200
    for text in (
        "北京星辰科技有限公司",
        "电信网络诈骗",
        "公安部",
        "公刑罚字〔2026〕1号",
        "申请信用修复",
        "提出异议",
    ):
        assert text in page.text
    # Decided in May, received in November: the agency was late, and the page says so of the agency.
    assert re.search(r'id="late-disclosures">认定部门有 1 条记录在决定作出 7 个工作日后才报送', page.text)
    assert "与该主体的信用无关" in page.text
    assert f"/v1/public/subjects/{make_uscc(1)}/special-report.pdf" in page.text
    assert f"/v1/public/subjects/{_ref(http)}/report.pdf" in page.text
    assert http.get("/subjects/00000000-0000-0000-0000-000000000000").status_code == 404


def test_repair_form_refuses_with_chinese_errors_and_stores_nothing(http, listed):
    token = _token(http, f"/records/{listed['id']}/repair")
    page = http.post(
        f"/records/{listed['id']}/repair", data={"applicant_name": "北京星辰科技有限公司"} | token
    )
    assert page.status_code == 422
    assert 'id="contact-error"' in page.text and "请填写此项" in page.text
    assert 'id="statement-error"' in page.text
    assert 'id="commitment-error"' in page.text and "请阅读并勾选信用承诺" in page.text
    assert 'value="北京星辰科技有限公司"' in page.text  # what was typed stays in the form
    with session_scope(writing=False) as session:
        assert session.query(Case).count() == 0


def test_repair_form_files_an_application_and_progress_shows_it(http, listed):
    form = {
        "applicant_name": "北京星辰科技有限公司",
        "contact": "010-12345678",
        "statement": "已全额缴纳罚款并完成整改",
        "evidence_kind": "fine_paid",
        "evidence_description": "罚款缴纳凭证",
        "commitment": "yes",
    } | _token(http, f"/records/{listed['id']}/repair")
    page = http.post(f"/records/{listed['id']}/repair", data=form)
    assert page.status_code == 201, page.text
    code = re.search(r'id="query-code">([A-Z0-9-]+)<', page.text).group(1)
    assert http.get(f"/v1/public/repairs/{code}").json()["status"] == "submitted"
    progress = http.get("/progress", params={"code": code})
    assert progress.status_code == 200 and "已受理，办理中" in progress.text
    again = http.post(f"/records/{listed['id']}/repair", data=form)
    assert again.status_code == 422 and "正在办理" in again.text


def test_repair_before_the_minimum_period_names_the_first_day(http, police, clock):
    clock(TODAY)
    body = record_body(2, severity="general", decision_date="2026-11-18")
    record = http.post("/v1/records", json=body, headers=police).json()
    # The page says up front when repair opens, and offers no form before then ...
    before = http.get(f"/records/{record['id']}/repair")
    assert before.status_code == 200
    assert 'id="repair-opens-on">2027年02月18日' in before.text
    assert 'action="/records/' not in before.text.split('id="repair-not-yet"')[1].split("</div>")[0]
    assert f'action="/records/{record["id"]}/repair"' not in before.text
    assert 'id="repair-guide"' in before.text  # ... but the materials to prepare meanwhile
    # A form kept from elsewhere is still refused, naming the day.
    form = {
        "applicant_name": "测试",
        "contact": "1",
        "statement": "整改完毕",
        "evidence_description": "凭证",
        "commitment": "yes",
    } | _token(http, f"/records/{record['id']}/objection")
    page = http.post(f"/records/{record['id']}/repair", data=form)
    assert page.status_code == 422
    assert '最早可于 <span id="repair-opens-on">2027年02月18日</span>（2027-02-18）' in page.text


def test_objection_form_flags_the_record(http, listed):
    token = _token(http, f"/records/{listed['id']}/objection")
    empty = http.post(f"/records/{listed['id']}/objection", data=token)
    assert empty.status_code == 422 and "请选择异议理由" in empty.text
    form = {"contact": "010-1", "reason": "inaccurate", "statement": "决定日期有误"} | token
    page = http.post(f"/records/{listed['id']}/objection", data=form)
    assert page.status_code == 201
    assert http.get(f"/v1/public/subjects/{make_uscc(1)}").json()["records"][0]["under_objection"] is True
    assert "异议处理中" in http.get(f"/subjects/{_ref(http)}").text


def test_unknown_query_code_is_explained(http):
    page = http.get("/progress", params={"code": "AAAA-BBBB-CCCC-DDDD"})
    assert page.status_code == 404 and "未找到该查询码" in page.text


def test_report_verification_page(http, listed):
    pdf = http.get(f"/v1/public/subjects/{make_uscc(1)}/report.pdf")
    report_id = pdf.headers["x-report-id"]
    page = http.get(f"/reports/{report_id}")
    assert page.status_code == 200 and "本报告由本系统出具" in page.text
    token = _token(http, f"/reports/{report_id}")
    checked = http.post(
        f"/reports/{report_id}", data=token, files={"file": ("r.pdf", pdf.content, "application/pdf")}
    )
    assert "文件未被改动" in checked.text
    changed = pdf.content[:-10] + b"0000000000"
    checked = http.post(
        f"/reports/{report_id}", data=token, files={"file": ("r.pdf", changed, "application/pdf")}
    )
    assert "可能被改动" in checked.text


def test_a_record_not_published_can_still_be_repaired_through_its_link_showing_nothing_of_it(http, police):
    # The repair notice of a shared record links its form: the subject applies there, while whoever
    # holds the link learns nothing of the record (its content, dates, subject).
    body = record_body(5, severity="general", decision_date="2026-05-01", visibility="shared", notice=None)
    record = http.post("/v1/records", json=body, headers=police).json()
    notice = http.get(f"/v1/records/{record['id']}/repair-notice.json", headers=police).json()
    link = notice["channel"]["web"]
    form_page = http.get(link)
    assert form_page.status_code == 200 and 'id="record-withheld"' in form_page.text
    for hidden in (
        body["conduct"],
        body["decision_no"],
        body["subject"]["name"],
        "2026-05-01",
        "电信网络诈骗",
    ):
        assert hidden not in form_page.text
    form = {
        "applicant_name": body["subject"]["name"],
        "contact": "010-12345678",
        "statement": "已全额缴纳罚款并完成整改",
        "evidence_kind": "fine_paid",
        "evidence_description": "罚款缴纳凭证",
        "commitment": "yes",
    } | _token(http, link)
    assert http.post(link, data=form).status_code == 201
    objection = f"/records/{record['id']}/objection"
    assert http.get(objection).status_code == 200 and body["conduct"] not in http.get(objection).text
    http.post(
        f"/v1/records/{record['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )
    assert http.get(link).status_code == 404  # exited: nothing to apply for
