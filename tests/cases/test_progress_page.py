"""The progress page (办理进度): the written decision's downloads once decided, and for a rejected
repair the appeal form, posted with the page's token, until the deadline."""

import re

from tests.cases.helpers import TENTH_WORKDAY, apply, decide, listed
from tests.conftest import POLICE

CREDIT_OFFICE = "national.credit_office"


def _token(page_text):
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def test_decided_cases_link_their_decision(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    code = created["query_code"]
    page = http.get("/progress", params={"code": code})
    assert page.status_code == 200 and "decision.pdf" not in page.text and "appeal-form" not in page.text
    decide(http, reviewer, created["id"], "approved", "已履行")
    page = http.get("/progress", params={"code": code})
    links = re.findall(r'href="([^"]+/decision\.(?:pdf|json))"', page.text)
    assert links == [f"/v1/public/repairs/{code}/decision.pdf", f"/v1/public/repairs/{code}/decision.json"]
    assert http.get(links[0]).headers["content-type"] == "application/pdf"
    assert "appeal-form" not in page.text  # an approved repair has nothing to appeal


def test_a_rejected_repair_is_appealed_from_its_progress_page(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    code = created["query_code"]
    decide(http, reviewer, created["id"], "rejected", "证据不足")
    page = http.get("/progress", params={"code": code})
    assert 'id="appeal-form"' in page.text and TENTH_WORKDAY in page.text
    fields = {"code": code, "contact": "0632-7654321", "statement": "请复核"}

    # Posted without this browser's token (another site's form): refused, nothing stored.
    assert http.post("/progress/appeal", data=fields).status_code == 403
    empty = http.post("/progress/appeal", data=fields | {"statement": "", "csrf_token": _token(page.text)})
    assert empty.status_code == 422 and 'id="statement-error"' in empty.text
    assert http.get("/v1/admin/cases?kind=appeal", headers=admin).json()["total"] == 0

    sent = http.post("/progress/appeal", data=fields | {"csrf_token": _token(page.text)})
    assert sent.status_code == 201, sent.text
    assert (
        "申诉已提交" in sent.text and "已受理，信用办复核中" in sent.text and "appeal-form" not in sent.text
    )
    appeal = http.get("/v1/admin/cases?kind=appeal", headers=admin).json()["items"][0]
    assert appeal["statement"] == "请复核" and appeal["appeal_of"] == created["id"]

    again = http.post("/progress/appeal", data=fields | {"csrf_token": _token(page.text)})
    assert again.status_code == 409 and "只能申诉一次" in again.text

    decide(http, admin, appeal["id"], "upheld", "准予修复")
    page = http.get("/progress", params={"code": code})
    assert "申诉成立，准予信用修复" in page.text
    assert f"/v1/public/repairs/{code}/appeal/decision.pdf" in page.text


def test_after_the_deadline_the_page_offers_no_appeal(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    code = created["query_code"]
    decide(http, reviewer, created["id"], "rejected", "证据不足")
    token = _token(http.get("/progress", params={"code": code}).text)
    clock("2026-10-20T09:00")
    page = http.get("/progress", params={"code": code})
    assert "appeal-form" not in page.text and TENTH_WORKDAY in page.text
    late = http.post(
        "/progress/appeal", data={"code": code, "contact": "1", "statement": "请复核", "csrf_token": token}
    )
    assert late.status_code == 422 and "申诉期限已过" in late.text and TENTH_WORKDAY in late.text
