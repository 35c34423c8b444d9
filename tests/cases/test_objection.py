"""Objections (异议): the record is flagged until its agency corrects, revokes or dismisses."""

from tests.conftest import COURT, record_body


def _objection(record_id, **overrides):
    body = {
        "record_id": record_id,
        "reason": "inaccurate",
        "statement": "处罚金额记载错误",
        "contact": "13800000000",
    }
    return body | overrides


def _setup(http, police, token_for):
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    reviewer = token_for("national.public_security", "cases:review")
    answer = http.post("/v1/public/objections", json=_objection(record["id"]))
    assert answer.status_code == 201, answer.text
    return record, reviewer, answer.json()


def _record(http, police, record_id):
    return http.get(f"/v1/records/{record_id}", headers=police).json()


def test_objection_flags_the_record_until_dismissed(http, police, token_for):
    record, reviewer, created = _setup(http, police, token_for)
    assert created["status"] == "submitted" and created["respond_by"]
    flagged = _record(http, police, record["id"])
    assert flagged["under_objection"] is True and flagged["status"] == "active"
    assert http.get(f"/v1/public/objections/{created['query_code']}").json()["kind"] == "objection"
    decided = http.post(
        f"/v1/cases/{created['id']}/decision",
        json={"outcome": "dismissed", "reason": "记载无误"},
        headers=reviewer,
    )
    assert decided.status_code == 200 and decided.json()["status"] == "dismissed"
    assert _record(http, police, record["id"])["under_objection"] is False
    events = [e["event"] for e in http.get(f"/v1/records/{record['id']}/history", headers=police).json()]
    assert events == ["record.created", "record.objection_raised", "record.objection_decided"]


def test_corrected_objection_updates_the_record_and_keeps_its_history(http, police, token_for):
    record, reviewer, created = _setup(http, police, token_for)
    decision = {"outcome": "corrected", "reason": "金额更正", "correction": {"conduct": "更正后的违法行为"}}
    assert (
        http.post(f"/v1/cases/{created['id']}/decision", json=decision, headers=reviewer).status_code == 200
    )
    after = _record(http, police, record["id"])
    assert (
        after["conduct"] == "更正后的违法行为"
        and after["under_objection"] is False
        and after["status"] == "active"
    )
    history = http.get(f"/v1/records/{record['id']}/history", headers=police).json()
    assert [e["event"] for e in history][-2:] == ["record.corrected", "record.objection_decided"]


def test_corrected_needs_a_correction(http, police, token_for):
    record, reviewer, created = _setup(http, police, token_for)
    answer = http.post(
        f"/v1/cases/{created['id']}/decision", json={"outcome": "corrected", "reason": "x"}, headers=reviewer
    )
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "correction"
    assert _record(http, police, record["id"])["under_objection"] is True


def test_upheld_objection_revokes_the_record(http, police, token_for):
    record, reviewer, created = _setup(http, police, token_for)
    decision = {"outcome": "revoked", "reason": "主体认定错误"}
    assert (
        http.post(f"/v1/cases/{created['id']}/decision", json=decision, headers=reviewer).status_code == 200
    )
    after = _record(http, police, record["id"])
    assert after["status"] == "revoked" and "objection upheld" in after["exit_reason"]


def test_objection_refusals(http, police, token_for):
    record, _reviewer, created = _setup(http, police, token_for)
    again = http.post("/v1/public/objections", json=_objection(record["id"]))
    assert again.status_code == 409
    bad_reason = http.post("/v1/public/objections", json=_objection(record["id"], reason="dislike"))
    assert bad_reason.status_code == 422 and bad_reason.json()["fields"][0]["field"] == "reason"
    court = token_for(COURT, "cases:review")
    forbidden = http.post(
        f"/v1/cases/{created['id']}/decision", json={"outcome": "dismissed", "reason": "x"}, headers=court
    )
    assert forbidden.status_code == 403
    revoked = http.post("/v1/records", json=record_body(2), headers=police).json()
    http.post(f"/v1/records/{revoked['id']}/revoke", json={"reason": "r", "decision_no": "d"}, headers=police)
    assert http.post("/v1/public/objections", json=_objection(revoked["id"])).status_code == 409


def test_as_of_shows_the_objection_flag_as_it_was(http, police, token_for, clock):
    reviewer = token_for("national.public_security", "cases:review")
    clock("2026-11-18T10:00")
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    clock("2026-11-19T10:00")
    created = http.post("/v1/public/objections", json=_objection(record["id"])).json()
    clock("2026-11-21T10:00")
    http.post(
        f"/v1/cases/{created['id']}/decision", json={"outcome": "dismissed", "reason": "x"}, headers=reviewer
    )

    def flag(day):
        view = http.get(f"/v1/subjects/{record['subject']['identifier']}?as_of={day}", headers=police).json()
        return [r["under_objection"] for r in view["records"]]

    assert flag("2026-11-18") == [False]
    assert flag("2026-11-20") == [True]
    assert flag("2026-11-21") == [False]


def test_the_deciding_agency_sees_who_objected(http, police, token_for):
    first = http.post("/v1/records", json=record_body(1), headers=police).json()
    second = http.post("/v1/records", json=record_body(2), headers=police).json()
    named = http.post("/v1/public/objections", json=_objection(first["id"], name="测试科技有限公司1")).json()
    unnamed = http.post("/v1/public/objections", json=_objection(second["id"])).json()  # the name is optional
    reviewer = token_for("national.public_security", "cases:review")

    case = http.get(f"/v1/cases/{named['id']}", headers=reviewer).json()
    assert case["applicant"] == {"name": "测试科技有限公司1", "contact": "13800000000"}
    listed = http.get("/v1/cases?kind=objection", headers=reviewer).json()["items"]
    assert {c["id"]: c["applicant"] for c in listed} == {
        named["id"]: {"name": "测试科技有限公司1", "contact": "13800000000"},
        unnamed["id"]: {"name": None, "contact": "13800000000"},
    }
    decided = http.post(
        f"/v1/cases/{named['id']}/decision",
        json={"outcome": "dismissed", "reason": "记载无误"},
        headers=reviewer,
    )
    assert decided.json()["applicant"]["name"] == "测试科技有限公司1"


def test_a_deadline_the_calendar_could_not_tell_is_set_once_it_can(http, police, token_for, clock):
    # Filed in late December 2026, ten working days run into 2027, beyond the known calendar: no
    # deadline. Once the administrator loads 2027's schedule, the case gets its deadline, and shows
    # up as overdue once that passes.
    from pathlib import Path

    admin = token_for("national.credit_office", "admin")
    record = http.post("/v1/records", json=record_body(51), headers=police).json()
    clock("2026-12-22T10:00")
    created = http.post(
        "/v1/public/objections",
        json={"record_id": record["id"], "reason": "not_mine", "statement": "不是本单位", "contact": "010-1"},
    ).json()
    assert created["respond_by"] is None
    schedule = Path(__file__).resolve().parents[2] / "docs" / "calendar-2027.example.csv"
    loaded = http.post(
        "/v1/admin/calendar", json={"content": schedule.read_text(encoding="utf-8")}, headers=admin
    )
    assert loaded.status_code == 201, loaded.text
    code = created["query_code"]
    due_by = http.get(f"/v1/public/objections/{code}").json()["due_by"]
    assert due_by is not None and due_by > "2026-12-31"
    clock("2027-02-20T10:00")
    overdue = http.get("/v1/admin/cases?overdue=true", headers=admin).json()
    assert [case["id"] for case in overdue["items"]] == [created["id"]]


def test_a_second_applicants_objection_is_taken_and_the_flag_stays_until_both_are_answered(
    http, police, token_for
):
    # A stranger's objection must not stand in for the subject's own: each applicant has its case.
    record, reviewer, first = _setup(http, police, token_for)
    again = http.post("/v1/public/objections", json=_objection(record["id"], contact=" 138-0000 0000 "))
    assert again.status_code == 409 and again.json()["error"] == "case_already_open"  # sent twice
    # The same contact with another objection is another case (a contact is no identity).
    second = http.post("/v1/public/objections", json=_objection(record["id"], statement="金额与决定书不符"))
    assert second.status_code == 201
    dismiss = {"outcome": "dismissed", "reason": "记载无误"}
    assert http.post(f"/v1/cases/{first['id']}/decision", json=dismiss, headers=reviewer).status_code == 200
    assert _record(http, police, record["id"])["under_objection"] is True
    assert (
        http.post(f"/v1/cases/{second.json()['id']}/decision", json=dismiss, headers=reviewer).status_code
        == 200
    )
    after = _record(http, police, record["id"])
    assert after["under_objection"] is False and after["version"] == 3  # flagged once, cleared once
