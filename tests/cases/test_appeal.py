"""Appeal (申诉) of a rejected repair: once, within 10 working days after the rejection, to the
credit office (`admin`), which decides it within 10 working days; never the agency that rejected."""

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import session_scope
from tests.cases.helpers import APPLIED_AT, TENTH_WORKDAY, apply, decide, listed, repair_body
from tests.conftest import POLICE, make_uscc

CREDIT_OFFICE = "national.credit_office"
APPEAL = {"statement": "完税证明已于申请时一并提交，请复核", "contact": "0632-7654321"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _rejected(http, police, reviewer, clock):
    record = listed(http, police, clock)
    created = apply(http, clock, record["id"])
    assert decide(http, reviewer, created["id"], "rejected", "未提供完税证明").status_code == 200
    return record, created


def _appeal_case(http, admin):
    appeals = http.get("/v1/admin/cases?kind=appeal", headers=admin).json()
    assert appeals["total"] == 1
    return appeals["items"][0]


def _check(http, approver):
    answer = http.post(
        "/v1/checks",
        json={"subject": {"identifier": make_uscc(1)}, "action": "administrative_license"},
        headers=approver,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["decision"]


def _audit_events(case_id):
    with session_scope(writing=False) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity_id == case_id).order_by(AuditEntry.seq)
        )
        return [row.action for row in rows]


def test_an_upheld_appeal_repairs_the_record(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    police_admin = token_for(POLICE, "admin", "cases:review")
    approver = token_for("national.market_regulation", "checks:write")
    record, repair = _rejected(http, police, reviewer, clock)
    code = repair["query_code"]
    status = http.get(f"/v1/public/repairs/{code}").json()
    assert (
        status["status"] == "rejected" and status["appeal_by"] == TENTH_WORKDAY and status["appeal"] is None
    )
    assert _check(http, approver) != "clear"

    clock("2026-10-12T09:00")
    answer = http.post(f"/v1/public/repairs/{code}/appeal", json=APPEAL)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    # The credit office's 10 working days run from the appeal (12 Oct 2026, a Monday).
    assert created["status"] == "submitted" and created["due_by"] == "2026-10-26"

    appeal = _appeal_case(http, admin)
    assert appeal["id"] == created["id"] and appeal["kind"] == "appeal"
    assert appeal["appeal_of"] == repair["id"] and appeal["record_id"] == record["id"]
    assert appeal["statement"] == APPEAL["statement"] and appeal["applicant"]["contact"] == APPEAL["contact"]
    assert http.get(f"/v1/cases/{created['id']}", headers=admin).status_code == 200
    # The agency whose rejection is appealed sees the appeal but cannot decide it, whatever its scopes.
    assert http.get("/v1/cases?kind=appeal", headers=reviewer).json()["total"] == 1
    clock("2026-10-13T09:00")
    for headers in (reviewer, police_admin):
        refused = decide(http, headers, created["id"], "upheld", "自行复核")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    wrong = decide(http, admin, created["id"], "approved", "x")
    assert wrong.status_code == 422 and wrong.json()["fields"][0]["field"] == "outcome"

    decided = decide(http, admin, created["id"], "upheld", "完税证明真实有效，原决定认定事实不清")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld" and decided.json()["decided_by_agency"] == CREDIT_OFFICE
    after = http.get(f"/v1/records/{record['id']}", headers=police).json()
    assert after["status"] == "repaired" and "granted on appeal" in after["exit_reason"]
    assert after["exit_sync_by"] == "2026-10-16"
    assert _check(http, approver) == "clear"

    status = http.get(f"/v1/public/repairs/{code}").json()
    assert status["status"] == "rejected"  # the agency's decision is history; the appeal overturned it
    assert status["appeal"]["status"] == "upheld" and status["appeal"]["decision_reason"].startswith(
        "完税证明"
    )
    document = http.get(f"/v1/public/repairs/{code}/appeal/decision.json").json()
    assert document["document"] == "appeal_decision" and document["outcome"] == "upheld"
    assert document["deciding_agency"]["code"] == CREDIT_OFFICE
    assert document["case"]["appeal_of"] == repair["id"] and document["next"]["sync_by"] == "2026-10-16"
    assert http.get(f"/v1/public/repairs/{code}/appeal/decision.pdf").status_code == 200

    events = [e["event"] for e in http.get(f"/v1/records/{record['id']}/history", headers=police).json()]
    assert events[-3:] == ["record.repair_appealed", "record.repaired", "record.appeal_decided"]
    assert _audit_events(created["id"]) == ["case.submitted", "case.decided"]
    again = decide(http, admin, created["id"], "dismissed", "x")
    assert again.status_code == 409 and again.json()["error"] == "case_closed"


def test_a_dismissed_appeal_leaves_the_record_listed(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    approver = token_for("national.market_regulation", "checks:write")
    record, repair = _rejected(http, police, reviewer, clock)
    code = repair["query_code"]
    created = http.post(f"/v1/public/repairs/{code}/appeal", json=APPEAL).json()
    assert decide(http, admin, created["id"], "dismissed", "原决定并无不当").status_code == 200
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "active"
    assert _check(http, approver) != "clear"
    status = http.get(f"/v1/public/repairs/{code}").json()
    assert status["appeal"]["status"] == "dismissed" and status["appeal"]["outcome"] == "dismissed"
    document = http.get(f"/v1/public/repairs/{code}/appeal/decision.json").json()
    assert document["outcome_zh"] == "申诉不成立，维持不予信用修复的决定"
    assert document["next"]["record_status"] == "active"


def test_a_repair_is_appealed_once(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    _, repair = _rejected(http, police, reviewer, clock)
    url = f"/v1/public/repairs/{repair['query_code']}/appeal"
    assert http.post(url, json=APPEAL).status_code == 201
    second = http.post(url, json=APPEAL)
    assert second.status_code == 409 and second.json()["error"] == "already_appealed"
    decide(http, admin, _appeal_case(http, admin)["id"], "dismissed", "维持")
    third = http.post(url, json=APPEAL)
    assert third.status_code == 409 and third.json()["error"] == "already_appealed"
    assert http.get("/v1/admin/cases?kind=appeal", headers=admin).json()["total"] == 1


def test_an_appeal_and_a_new_repair_of_the_same_record_run_side_by_side(http, police, token_for, clock):
    # The registry cannot tell who applies: a new repair (perhaps a stranger's) must not take away the
    # applicant's appeal. Whichever is granted first exits the record; the other is closed then.
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    record, repair = _rejected(http, police, reviewer, clock)
    again = http.post("/v1/public/repairs", json=repair_body(record["id"], statement="已补充完税证明"))
    assert again.status_code == 201
    assert http.post(f"/v1/public/repairs/{repair['query_code']}/appeal", json=APPEAL).status_code == 201
    assert decide(http, admin, _appeal_case(http, admin)["id"], "upheld", "应予修复").status_code == 200
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "repaired"
    late = decide(http, reviewer, again.json()["id"], "approved", "已履行")
    assert late.status_code == 409 and late.json()["error"] == "record_not_active"
    assert decide(http, reviewer, again.json()["id"], "rejected", "记录已修复").status_code == 200


def test_an_appeal_after_the_deadline_is_refused_naming_it(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    _, repair = _rejected(http, police, reviewer, clock)
    url = f"/v1/public/repairs/{repair['query_code']}/appeal"
    clock("2026-10-20T09:00")
    late = http.post(url, json=APPEAL)
    assert late.status_code == 422 and late.json()["error"] == "appeal_period_over"
    assert late.json()["appeal_by"] == TENTH_WORKDAY and TENTH_WORKDAY in late.json()["detail"]
    assert http.get("/v1/admin/cases?kind=appeal", headers=admin).json()["total"] == 0
    clock(f"{TENTH_WORKDAY}T23:30")  # the last day counts, to its end in China time
    assert http.post(url, json=APPEAL).status_code == 201


def test_only_a_rejected_repair_can_be_appealed(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    record = listed(http, police, clock)
    open_repair = apply(http, clock, record["id"])
    url = f"/v1/public/repairs/{open_repair['query_code']}/appeal"
    pending = http.post(url, json=APPEAL)
    assert pending.status_code == 409 and pending.json()["error"] == "case_not_appealable"
    decide(http, reviewer, open_repair["id"], "approved", "已履行")
    approved = http.post(url, json=APPEAL)
    assert approved.status_code == 409 and approved.json()["error"] == "case_not_appealable"
    # An objection's query code is not a repair's.
    other = listed(http, police, clock, n=2)
    objection = http.post(
        "/v1/public/objections",
        json={"record_id": other["id"], "reason": "inaccurate", "statement": "有误", "contact": "1"},
    ).json()
    assert http.post(f"/v1/public/repairs/{objection['query_code']}/appeal", json=APPEAL).status_code == 404
    assert http.post("/v1/public/repairs/AAAA-BBBB-CCCC-DDDD/appeal", json=APPEAL).status_code == 404
    assert http.post(url, json={"statement": "", "contact": "1"}).status_code == 422


def test_a_pending_appeal_takes_the_evidence(http, police, token_for, clock):
    reviewer = token_for(POLICE, "cases:review")
    admin = token_for(CREDIT_OFFICE, "admin")
    _, repair = _rejected(http, police, reviewer, clock)
    code = repair["query_code"]
    clock(APPLIED_AT)
    created = http.post(f"/v1/public/repairs/{code}/appeal", json=APPEAL).json()
    attached = http.post(f"/v1/public/cases/{code}/files", files={"file": ("tax.png", PNG, "image/png")})
    assert attached.status_code == 201
    assert [f["filename"] for f in http.get(f"/v1/cases/{created['id']}", headers=admin).json()["files"]] == [
        "tax.png"
    ]
    assert http.get(f"/v1/cases/{repair['id']}", headers=admin).json()["files"] == []


def test_the_credit_office_decides_no_repair_itself(http, police, token_for, clock):
    admin = token_for(CREDIT_OFFICE, "admin")
    record = listed(http, police, clock)
    repair = apply(http, clock, record["id"])
    refused = decide(http, admin, repair["id"], "approved", "越权")
    assert refused.status_code == 403
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "active"


def test_only_the_credit_office_of_the_rejecting_agencys_jurisdiction_decides_the_appeal(
    http, police, token_for, clock
):
    # An agency that administers the platform is no credit office, and a city's office does not
    # review a national agency's refusal.
    reviewer = token_for(POLICE, "cases:review")
    office = token_for(CREDIT_OFFICE, "admin")
    others = [
        token_for(agency, "admin", "cases:review")
        for agency in ("national.market_regulation", "zaozhuang.credit_office")
    ]
    _, repair = _rejected(http, police, reviewer, clock)
    clock(APPLIED_AT)
    assert http.post(f"/v1/public/repairs/{repair['query_code']}/appeal", json=APPEAL).status_code == 201
    appeal = _appeal_case(http, office)
    for other in others:
        refused = decide(http, other, appeal["id"], "upheld", "应予修复")
        assert refused.status_code == 403 and CREDIT_OFFICE in refused.json()["detail"]
    assert decide(http, office, appeal["id"], "upheld", "应予修复").status_code == 200
