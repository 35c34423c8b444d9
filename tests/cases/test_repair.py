"""Credit repair (信用修复): apply with a commitment, decided by the designating agency."""

from datetime import date

from sqlalchemy import func, select

from app.cases.models import Case
from app.db import session_scope
from app.kit.workdays import WorkdayCalendar
from tests.conftest import COURT, make_uscc, record_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _listed(http, police, clock, n=1, **overrides):
    clock("2026-05-29T10:00")
    body = record_body(n, severity="general", decision_date="2026-05-28", **overrides)
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _repair(record_id, **overrides):
    body = {
        "record_id": record_id,
        "applicant": {"name": "测试科技有限公司1", "contact": "0632-1234567"},
        "statement": "已全额缴纳罚款并完成整改",
        "commitment": True,
        "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证 No. 2026-001"}],
    }
    return body | overrides


def _cases() -> int:
    with session_scope(writing=False) as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_repair_from_application_to_approval(http, police, token_for, clock):
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    answer = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "submitted"
    # 10 working days from 29 Sep across the National Day holiday and the make-up Saturday 10 Oct.
    assert (
        created["decide_by"]
        == WorkdayCalendar().add_workdays(date(2026, 9, 29), 10).isoformat()
        == "2026-10-19"
    )
    code = created["query_code"]
    progress = http.get(f"/v1/public/repairs/{code}").json()
    assert progress["status"] == "submitted" and progress["due_by"] == "2026-10-19"
    assert set(progress) == {
        "kind",
        "status",
        "submitted_at",
        "due_by",
        "decided_at",
        "outcome",
        "decision_reason",
        "files",
        "decision_available",
        "appeal_by",
        "appeal",
    }

    queue = http.get("/v1/cases?kind=repair&status=submitted", headers=reviewer).json()
    assert queue["total"] == 1 and queue["items"][0]["record_id"] == record["id"]
    case_id = queue["items"][0]["id"]
    decided = http.post(
        f"/v1/cases/{case_id}/decision",
        json={"outcome": "approved", "reason": "义务已履行"},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    after = http.get(f"/v1/records/{record['id']}", headers=police).json()
    assert after["status"] == "repaired" and "credit repair approved" in after["exit_reason"]
    assert http.get(f"/v1/public/repairs/{code}").json()["outcome"] == "approved"
    events = [e["event"] for e in http.get(f"/v1/records/{record['id']}/history", headers=police).json()]
    assert events == ["record.created", "record.repair_applied", "record.repaired", "record.repair_decided"]


def test_repair_before_the_minimum_period_names_the_first_allowed_date(http, police, clock):
    record = _listed(http, police, clock)
    clock("2026-07-01T10:00")
    answer = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert answer.status_code == 422
    assert answer.json()["error"] == "minimum_period_not_elapsed"
    assert answer.json()["first_allowed_date"] == "2026-08-28"
    assert _cases() == 0
    # A record the public does not see: the refusal tells a stranger nothing of its dates (its
    # subject has the repair notice).
    hidden = _listed(http, police, clock, n=2, visibility="shared")
    clock("2026-07-01T10:00")
    refused = http.post("/v1/public/repairs", json=_repair(hidden["id"]))
    assert refused.status_code == 422 and refused.json()["error"] == "minimum_period_not_elapsed"
    assert refused.json()["first_allowed_date"] is None and "2026" not in refused.json()["detail"]


def test_a_court_listing_is_not_repaired_by_the_credit_office(http, token_for, clock):
    # 法释〔2017〕7号 第十条、第十二条: it ends when the judgment is performed, or by the court's review.
    court = token_for(COURT, "records:write")
    record = _listed(http, court, clock, domain="court_judgments")
    clock("2028-01-01T10:00")
    answer = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert answer.status_code == 422 and "法释〔2017〕7号" in answer.json()["detail"]
    assert _cases() == 0


def test_repair_needs_a_commitment_and_evidence(http, police, clock):
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    no_commitment = http.post("/v1/public/repairs", json=_repair(record["id"], commitment=False))
    assert no_commitment.status_code == 422 and no_commitment.json()["fields"][0]["field"] == "commitment"
    for loose in (1, "true", "yes"):  # the commitment is the JSON value true, nothing taken for it
        answer = http.post("/v1/public/repairs", json=_repair(record["id"], commitment=loose))
        assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "commitment", loose
    no_evidence = http.post("/v1/public/repairs", json=_repair(record["id"], evidence=[]))
    assert no_evidence.status_code == 422 and no_evidence.json()["fields"][0]["field"] == "evidence"
    assert _cases() == 0


def test_the_same_application_twice_is_one_case_and_a_new_one_after_rejection(http, police, token_for, clock):
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    first = http.post("/v1/public/repairs", json=_repair(record["id"]))
    second = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert second.status_code == 409 and second.json()["error"] == "case_already_open"
    case_id = first.json()["id"]
    http.post(
        f"/v1/cases/{case_id}/decision", json={"outcome": "rejected", "reason": "证据不足"}, headers=reviewer
    )
    assert http.post("/v1/public/repairs", json=_repair(record["id"])).status_code == 201
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "active"


def test_a_strangers_repair_does_not_hold_back_the_subjects_own(http, police, token_for, clock):
    # The registry cannot tell the subject from a stranger: another application, even one giving the
    # subject's own published phone number, must not block the subject's; only the same application
    # sent again (however spaced or typed) is refused while the first is open.
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    squatter = {"name": "某人", "contact": "0632-1234567"}
    stranger = http.post(
        "/v1/public/repairs", json=_repair(record["id"], applicant=squatter, statement="修复")
    )
    assert stranger.status_code == 201
    own = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert own.status_code == 201
    retyped = _repair(
        record["id"],
        applicant={"name": "测试科技有限公司1", "contact": "０６３２ 1234567"},
        statement="已全额缴纳罚款，并完成整改。",
    )
    assert http.post("/v1/public/repairs", json=retyped).json()["error"] == "case_already_open"
    approve = {"outcome": "approved", "reason": "已履行"}
    approved = http.post(f"/v1/cases/{own.json()['id']}/decision", json=approve, headers=reviewer)
    assert approved.status_code == 200
    # The stranger's case is then closed as rejected, its decision saying the record exited.
    refused = http.post(f"/v1/cases/{stranger.json()['id']}/decision", json=approve, headers=reviewer)
    assert refused.status_code == 409 and refused.json()["error"] == "record_not_active"
    reject = {"outcome": "rejected", "reason": "已修复"}
    assert (
        http.post(f"/v1/cases/{stranger.json()['id']}/decision", json=reject, headers=reviewer).status_code
        == 200
    )
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "repaired"


def test_only_the_designating_agency_decides_and_only_once(http, police, token_for, clock):
    reviewer = token_for("national.public_security", "cases:review")
    other = token_for(COURT, "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    case_id = http.post("/v1/public/repairs", json=_repair(record["id"])).json()["id"]
    decision = {"outcome": "approved", "reason": "ok"}
    assert http.post(f"/v1/cases/{case_id}/decision", json=decision, headers=other).status_code == 403
    assert http.get("/v1/cases", headers=other).json()["total"] == 0
    wrong_kind = http.post(
        f"/v1/cases/{case_id}/decision", json={"outcome": "dismissed", "reason": "x"}, headers=reviewer
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["fields"][0]["field"] == "outcome"
    assert http.post(f"/v1/cases/{case_id}/decision", json=decision, headers=reviewer).status_code == 200
    again = http.post(f"/v1/cases/{case_id}/decision", json=decision, headers=reviewer)
    assert again.status_code == 409 and again.json()["error"] == "case_closed"


def test_repair_of_an_unknown_or_exited_record_is_refused(http, police, clock):
    record = _listed(http, police, clock)
    http.post(
        f"/v1/records/{record['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )
    clock("2026-09-29T10:00")
    exited = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert exited.status_code == 409 and "no longer in force" in exited.json()["detail"]
    assert "revoked" not in exited.json()["detail"]  # how it exited is not a public answer
    unknown = http.post("/v1/public/repairs", json=_repair("00000000-0000-0000-0000-000000000001"))
    assert unknown.status_code == 404
    assert _cases() == 0


def test_an_administrator_holiday_moves_the_deadline(http, police, token_for, clock):
    admin = token_for("national.credit_office", "admin")
    record = _listed(http, police, clock)
    http.post(
        "/v1/admin/holidays", json={"date": "2026-10-12", "workday": False, "note": "test"}, headers=admin
    )
    clock("2026-09-29T10:00")
    assert http.post("/v1/public/repairs", json=_repair(record["id"])).json()["decide_by"] == "2026-10-20"


def test_overdue_cases_are_visible_to_administrators(http, police, token_for, clock):
    admin = token_for("national.credit_office", "admin")
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert http.get("/v1/admin/cases?overdue=true", headers=admin).json()["total"] == 0
    clock("2026-10-20T10:00")
    overdue = http.get("/v1/admin/cases?overdue=true", headers=admin).json()
    assert overdue["total"] == 1 and overdue["items"][0]["overdue"] is True
    assert http.get("/v1/admin/cases", headers=reviewer).status_code == 403


def test_evidence_files_are_checked_for_type_and_size(http, police, token_for, clock):
    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-29T10:00")
    created = http.post("/v1/public/repairs", json=_repair(record["id"])).json()
    code = created["query_code"]
    ok = http.post(f"/v1/public/cases/{code}/files", files={"file": ("receipt.png", PNG, "image/png")})
    assert ok.status_code == 201 and ok.json()["content_type"] == "image/png"
    disguised = http.post(
        f"/v1/public/cases/{code}/files", files={"file": ("x.pdf", b"#!/bin/sh\necho", "application/pdf")}
    )
    assert disguised.status_code == 415
    huge = http.post(
        f"/v1/public/cases/{code}/files",
        files={"file": ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf")},
    )
    assert huge.status_code == 413 and huge.json()["error"] == "payload_too_large"
    two = [("file", ("a.png", PNG, "image/png")), ("file", ("b.png", PNG, "image/png"))]
    several = http.post(f"/v1/public/cases/{code}/files", files=two)
    assert several.status_code == 422 and several.json()["fields"][0]["field"] == "file"
    case = http.get(f"/v1/cases/{created['id']}", headers=reviewer).json()
    assert [f["filename"] for f in case["files"]] == ["receipt.png"]
    download = http.get(f"/v1/cases/{created['id']}/files/{case['files'][0]['id']}", headers=reviewer)
    assert download.content == PNG
    http.post(
        f"/v1/cases/{created['id']}/decision", json={"outcome": "rejected", "reason": "x"}, headers=reviewer
    )
    late = http.post(f"/v1/public/cases/{code}/files", files={"file": ("late.png", PNG, "image/png")})
    assert late.status_code == 409


def test_query_codes_are_long_random_and_reveal_only_their_own_case(http, police, clock):
    codes = set()
    for n in range(1, 4):
        record = _listed(http, police, clock, n=n, subject={"identifier": make_uscc(n)})
        clock("2026-09-29T10:00")
        codes.add(http.post("/v1/public/repairs", json=_repair(record["id"])).json()["query_code"])
    assert len(codes) == 3
    for code in codes:
        letters = code.replace("-", "")
        assert len(letters) == 16  # 16 base32 characters: 80 random bits
    assert http.get("/v1/public/repairs/AAAA-AAAA-AAAA-AAAA").status_code == 404
    a_code = next(iter(codes))
    assert (
        http.get(f"/v1/public/objections/{a_code}").status_code == 404
    )  # a repair code is no objection code


def test_red_list_records_are_not_repaired(http, police, clock):
    record = _listed(http, police, clock, list_type="red")
    clock("2026-09-29T10:00")
    answer = http.post("/v1/public/repairs", json=_repair(record["id"]))
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "record_id"


def test_cases_need_cases_review(http, token_for):
    writer = token_for("national.public_security", "records:write")
    assert http.get("/v1/cases", headers=writer).status_code == 403
    assert http.get("/v1/cases").status_code == 401


def test_a_case_on_a_record_that_exited_meanwhile_is_closed_without_changing_it(
    http, police, token_for, clock
):
    # An objection revokes the record while its repair is open: the repair cannot be approved any
    # more (nothing left to repair), is rejected without an appeal, and its decision says the record
    # has exited, not that it "stays published".
    from tests.cases.helpers import decide

    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)
    clock("2026-09-01T10:00")
    repair = http.post("/v1/public/repairs", json=_repair(record["id"])).json()
    objection = http.post(
        "/v1/public/objections",
        json={"record_id": record["id"], "reason": "not_mine", "statement": "不是本单位", "contact": "010-1"},
    ).json()
    assert decide(http, reviewer, objection["id"], "revoked", "核实确属误报").status_code == 200
    refused = decide(http, reviewer, repair["id"], "approved", "已整改")
    assert refused.status_code == 409 and "revoked" in refused.json()["detail"]
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "revoked"
    assert decide(http, reviewer, repair["id"], "rejected", "记录已撤销").status_code == 200
    document = http.get(f"/v1/public/repairs/{repair['query_code']}/decision.json").json()
    # No longer published, the record is named by its id, and how it exited is not told.
    assert document["record"] == {"id": record["id"], "withheld": True}
    assert (
        "继续公示" not in document["next"]["text_zh"] and "不改变该记录的状态" in document["next"]["text_zh"]
    )
    assert "撤销" not in document["next"]["text_zh"] and "appeal" not in document["next"]
    assert http.get(f"/v1/public/repairs/{repair['query_code']}").json()["appeal_by"] is None


def test_an_expired_record_stays_expired_when_its_repair_is_decided(http, police, token_for, clock):
    from tests.cases.helpers import decide

    reviewer = token_for("national.public_security", "cases:review")
    record = _listed(http, police, clock)  # general: published until 2027-05-28
    clock("2027-05-20T10:00")
    repair = http.post("/v1/public/repairs", json=_repair(record["id"])).json()
    clock("2027-06-10T10:00")  # its period ran out while the repair waited
    assert decide(http, reviewer, repair["id"], "approved", "已整改").status_code == 409
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "expired"
