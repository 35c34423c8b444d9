"""Tell before listing (国办发〔2020〕49号 (八); issue 15): an agency gives notice of a serious black
listing, the subject reads it and states a defence by query code, the agency finalizes or withdraws."""

from datetime import date

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.kit.querycodes import hash_query_code
from app.models import AuditEntry, Notice
from tests.conftest import POLICE, TAX, make_resident_id, make_uscc, record_body

# The suite day is Sunday 2026-11-22: five working days on is Friday 2026-11-27.
RESPOND_BY = "2026-11-27"


def notice_body(n: int = 1, **overrides):
    body = record_body(n, **overrides)
    body.pop("notice")  # the registry's notice is the notice: nothing served elsewhere to attest
    return body


@pytest.fixture
def notified(http, police):
    answer = http.post("/v1/notices", json=notice_body(1), headers=police)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_notice_tells_the_subject_and_stores_no_record(http, police, notified):
    assert notified["status"] == "notified" and notified["respond_by"] == RESPOND_BY
    assert notified["record"]["external_id"] == "ext-1" and notified["query_code"]
    # Nothing is listed yet: no record, no subject an approver or the public could find.
    assert http.get("/v1/records", headers=police).json()["total"] == 0
    assert http.get(f"/v1/public/subjects/{make_uscc(1)}").status_code == 404

    public = http.get(f"/v1/public/notices/{notified['query_code']}")
    assert public.status_code == 200, public.text
    told = public.json()
    assert told["reasons"] == "为电信网络诈骗提供支付结算帮助"
    assert told["basis"] == "《中华人民共和国反电信网络诈骗法》第三十一条"
    assert told["agency"]["name_zh"] == "公安部" and told["domain"]["code"] == "telecom_fraud"
    assert told["respond_by"] == RESPOND_BY and told["may_state"] is True and told["statement"] is None
    assert told["decision_date"] is None  # nothing is decided before the subject is heard
    rights = "".join(told["rights"])
    for right in ("陈述", "申辩", "2026年11月27日", "异议", "信用修复"):
        assert right in rights


def test_the_query_code_is_shown_once_and_stored_only_as_its_hash(http, police, notified):
    code = notified["query_code"]
    with session_scope() as session:
        row = session.scalars(select(Notice)).one()
        assert row.query_code_hash == hash_query_code(code) and code not in str(row.body)
    assert "query_code" not in http.get(f"/v1/notices/{notified['id']}", headers=police).json()
    # Typed back in lower case without dashes, it still finds the notice.
    assert http.get(f"/v1/public/notices/{code.replace('-', '').lower()}").status_code == 200
    assert http.get("/v1/public/notices/AAAA-BBBB-CCCC-DDDD").status_code == 404


def test_a_person_is_told_with_a_masked_identity_number(http, police):
    person = make_resident_id(date(1980, 5, 17))
    body = notice_body(
        2, subject={"kind": "natural_person", "identifier_type": "resident_id", "identifier": person}
    )
    body["conduct"] = f"身份证{person}的持有人为诈骗团伙提供银行卡"
    code = http.post("/v1/notices", json=body, headers=police).json()["query_code"]
    notice = http.get(f"/v1/public/notices/{code}").json()
    # The mask every public answer uses (area code and birth year): two masks of one number, the
    # search's and the notice's, would together show all but a few digits.
    assert notice["subject"]["identifier"] == person[:10] + "********"
    assert person[10:] not in str(notice)


def test_respond_by_is_at_least_five_working_days(http, police):
    early = http.post("/v1/notices", json=notice_body(3) | {"respond_by": "2026-11-26"}, headers=police)
    assert early.status_code == 422
    assert early.json()["fields"][0]["field"] == "respond_by" and RESPOND_BY in early.json()["detail"]
    later = http.post("/v1/notices", json=notice_body(4) | {"respond_by": "2026-12-04"}, headers=police)
    assert later.status_code == 201 and later.json()["respond_by"] == "2026-12-04"


def test_a_notice_in_a_domain_without_a_role_is_403(http, police, token_for):
    answer = http.post("/v1/notices", json=notice_body(5, domain="tax_fraud"), headers=police)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    tax = token_for(TAX, "records:write")
    assert http.post("/v1/notices", json=notice_body(5, domain="tax_fraud"), headers=tax).status_code == 201


def test_a_notice_is_validated_as_its_push_would_be(http, police, token_for):
    minor = make_resident_id(date(2010, 1, 1))
    refused = {
        "minor_subject": notice_body(
            6, subject={"kind": "natural_person", "identifier_type": "resident_id", "identifier": minor}
        ),
        "publicity_end": notice_body(7, publicity_end="2026-12-01"),
        "decision_date": notice_body(8, decision_date="2026-12-25"),
        "notice": record_body(9),  # an attestation on the notice itself
        "list_type": notice_body(10, list_type="red"),
    }
    for what, body in refused.items():
        answer = http.post("/v1/notices", json=body, headers=police)
        assert answer.status_code == 422, (what, answer.text)
        fields = [f["field"] for f in answer.json().get("fields", [])]
        assert what in fields or answer.json()["error"] == what, (what, answer.json())
    court = token_for("national.supreme_court", "records:write")
    answer = http.post("/v1/notices", json=notice_body(11, domain="court_judgments"), headers=court)
    assert answer.status_code == 422 and "court" in answer.json()["detail"]
    assert http.get("/v1/notices", headers=police).json()["total"] == 0


def test_one_open_notice_per_listing_and_none_for_a_listed_one(http, police, notified):
    again = http.post("/v1/notices", json=notice_body(1), headers=police)
    assert again.status_code == 409 and notified["id"] in again.json()["detail"]
    listed = http.post("/v1/records", json=record_body(12), headers=police).json()
    answer = http.post("/v1/notices", json=notice_body(12), headers=police)
    assert answer.status_code == 409 and listed["id"] in answer.json()["detail"]


def test_the_subject_states_a_defence_once_and_the_agency_reads_it(http, police, notified):
    code = notified["query_code"]
    statement = {"statement": "涉案账户系被他人冒用，已向公安机关报案。", "contact": "13800000000"}
    answer = http.post(f"/v1/public/notices/{code}/statement", json=statement)
    assert answer.status_code == 201, answer.text
    assert answer.json()["statement"]["statement"] == statement["statement"]
    assert answer.json()["may_state"] is False
    twice = http.post(f"/v1/public/notices/{code}/statement", json=statement | {"statement": "补充"})
    assert twice.status_code == 409 and twice.json()["error"] == "statement_already_given"

    seen = http.get(f"/v1/notices/{notified['id']}", headers=police).json()
    assert seen["statement"]["statement"] == statement["statement"]
    assert seen["statement"]["contact"] == "13800000000"
    assert "contact" not in http.get(f"/v1/public/notices/{code}").json()["statement"]


def test_a_statement_after_respond_by_is_422_naming_the_date(http, notified, clock):
    clock("2026-11-28T09:00")
    answer = http.post(
        f"/v1/public/notices/{notified['query_code']}/statement",
        json={"statement": "迟到的申辩", "contact": "13800000000"},
    )
    assert answer.status_code == 422 and answer.json()["error"] == "statement_too_late"
    assert answer.json()["respond_by"] == RESPOND_BY and RESPOND_BY in answer.json()["detail"]
    # Until the end of respond_by itself the subject may still answer.
    clock("2026-11-27T23:30")
    on_time = http.post(
        f"/v1/public/notices/{notified['query_code']}/statement",
        json={"statement": "最后一天的申辩", "contact": "13800000000"},
    )
    assert on_time.status_code == 201


def test_finalizing_waits_for_respond_by_then_lists_with_the_notice_id(http, police, notified, clock):
    early = http.post(f"/v1/notices/{notified['id']}/finalize", headers=police)
    assert early.status_code == 409 and early.json()["error"] == "statement_period_running"
    clock("2026-11-30T10:00")  # respond_by passed without a statement
    answer = http.post(f"/v1/notices/{notified['id']}/finalize", headers=police)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["notice_id"] == notified["id"] and record["notice"] is None
    assert record["external_id"] == "ext-1" and record["status"] == "active"
    # Due process took its days: the listing counts as received the day the agency notified.
    assert record["late_disclosure"] is False
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["notice_id"] == notified["id"]

    notice = http.get(f"/v1/notices/{notified['id']}", headers=police).json()
    assert notice["status"] == "finalized" and notice["record_id"] == record["id"]
    assert http.get(f"/v1/public/notices/{notified['query_code']}").json()["status"] == "finalized"
    # The agency's system sending the same record again is recognized as the same push.
    again = http.post("/v1/records", json=notice_body(1), headers=police)
    assert again.status_code == 200 and again.json()["id"] == record["id"]
    twice = http.post(f"/v1/notices/{notified['id']}/finalize", headers=police)
    assert twice.status_code == 409 and twice.json()["error"] == "notice_closed"
    assert twice.json()["record_id"] == record["id"]  # a finalize sent again finds what it made


def test_a_statement_received_may_be_finalized_early_once_considered(http, police, notified):
    http.post(
        f"/v1/public/notices/{notified['query_code']}/statement",
        json={"statement": "罚款已缴清", "contact": "13800000000"},
    )
    url = f"/v1/notices/{notified['id']}/finalize"
    unconsidered = http.post(url, json={}, headers=police)
    assert unconsidered.status_code == 422 and unconsidered.json()["fields"][0]["field"] == "considered"
    answer = http.post(url, json={"considered": "经核查，缴清罚款不影响失信行为的认定"}, headers=police)
    assert answer.status_code == 201, answer.text
    notice = http.get(f"/v1/notices/{notified['id']}", headers=police).json()
    assert notice["considered"] == "经核查，缴清罚款不影响失信行为的认定"


def test_a_withdrawn_notice_cannot_be_finalized_or_answered(http, police, notified, clock):
    answer = http.post(
        f"/v1/notices/{notified['id']}/withdraw", json={"reason": "经复核不予列入"}, headers=police
    )
    assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
    assert answer.json()["withdraw_reason"] == "经复核不予列入"
    clock("2026-11-30T10:00")
    finalize = http.post(f"/v1/notices/{notified['id']}/finalize", headers=police)
    assert finalize.status_code == 409 and finalize.json()["error"] == "notice_closed"
    assert "withdrawn" in finalize.json()["detail"]
    again = http.post(f"/v1/notices/{notified['id']}/withdraw", headers=police)
    assert again.status_code == 409
    statement = http.post(
        f"/v1/public/notices/{notified['query_code']}/statement", json={"statement": "申辩", "contact": "1"}
    )
    assert statement.status_code == 409
    assert http.get("/v1/records", headers=police).json()["total"] == 0


def test_an_unfinalized_notice_expires_sixty_days_after_respond_by(http, police, notified, clock):
    clock("2027-01-26T10:00")  # respond_by 2026-11-27 + 60 days = 2027-01-26: still open
    assert http.get(f"/v1/notices/{notified['id']}", headers=police).json()["status"] == "notified"
    clock("2027-01-27T10:00")
    notice = http.get(f"/v1/notices/{notified['id']}", headers=police).json()
    assert notice["status"] == "expired" and notice["expires_on"] == "2027-01-26"
    listed = http.get("/v1/notices", params={"status": "expired"}, headers=police).json()
    assert [n["id"] for n in listed["items"]] == [notified["id"]]
    assert http.get("/v1/notices", params={"status": "notified"}, headers=police).json()["total"] == 0
    answer = http.post(f"/v1/notices/{notified['id']}/finalize", headers=police)
    assert answer.status_code == 409 and answer.json()["error"] == "notice_closed"
    assert "expired" in answer.json()["detail"]


def test_the_agency_lists_its_own_notices_by_status(http, police, token_for, notified):
    second = http.post("/v1/notices", json=notice_body(2), headers=police).json()
    http.post(f"/v1/notices/{second['id']}/withdraw", headers=police)
    everything = http.get("/v1/notices", headers=police).json()
    assert everything["total"] == 2
    withdrawn = http.get("/v1/notices", params={"status": "withdrawn"}, headers=police).json()
    assert [n["id"] for n in withdrawn["items"]] == [second["id"]]

    stranger = token_for(TAX, "records:write", "records:read")
    assert http.get("/v1/notices", headers=stranger).json()["total"] == 0
    for method, path in (
        ("GET", f"/v1/notices/{notified['id']}"),
        ("POST", f"/v1/notices/{notified['id']}/withdraw"),
        ("POST", f"/v1/notices/{notified['id']}/finalize"),
    ):
        assert http.request(method, path, headers=stranger).status_code == 404
    admin = token_for(TAX, "admin", "records:read")
    assert http.get(f"/v1/notices/{notified['id']}", headers=admin).status_code == 200
    assert http.get(f"/v1/notices/{notified['id']}", headers=police).json()["status"] == "notified"


def test_every_step_is_in_the_audit_log(http, police, notified, clock):
    http.post(
        f"/v1/public/notices/{notified['query_code']}/statement", json={"statement": "申辩", "contact": "1"}
    )
    http.post(f"/v1/notices/{notified['id']}/finalize", json={"considered": "已考虑"}, headers=police)
    with session_scope() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == notified["id"]).order_by(AuditEntry.seq)
        ).all()
    assert actions == ["notice.created", "notice.statement_received", "notice.finalized"]


def test_without_the_calendar_respond_by_must_be_given(http, police, clock):
    clock("2027-03-01T10:00")  # 2027 is beyond the package's statutory calendar (2004–2026)
    body = notice_body(13, decision_date="2027-02-26")
    missing = http.post("/v1/notices", json=body, headers=police)
    assert missing.status_code == 422 and missing.json()["fields"][0]["field"] == "respond_by"
    assert "2027" in missing.json()["detail"]
    too_soon = http.post("/v1/notices", json=body | {"respond_by": "2027-03-05"}, headers=police)
    assert too_soon.status_code == 422 and "2027-03-08" in too_soon.json()["detail"]
    given = http.post("/v1/notices", json=body | {"respond_by": "2027-03-12"}, headers=police)
    assert given.status_code == 201 and given.json()["calendar_note"]


def test_the_agency_needs_records_write_to_notify(http, token_for):
    reader = token_for(POLICE, "records:read")
    assert http.post("/v1/notices", json=notice_body(14), headers=reader).status_code == 403


def test_a_correction_that_makes_a_listing_serious_needs_the_notice_too(http, police):
    body = record_body(40, severity="general")
    body.pop("notice")
    record = http.post("/v1/records", json=body, headers=police).json()
    raised = {
        "severity": "serious",
        "reason": "复核认定情节严重",
        "correction_decision_no": "公更字〔2026〕1号",
    }
    answer = http.patch(f"/v1/records/{record['id']}", json=raised, headers=police | {"If-Match": "1"})
    assert answer.status_code == 422 and answer.json()["error"] == "notice_required"
    told = http.post("/v1/records", json=record_body(41, severity="general"), headers=police).json()
    answer = http.patch(f"/v1/records/{told['id']}", json=raised, headers=police | {"If-Match": "1"})
    assert answer.status_code == 200 and answer.json()["severity"] == "serious"


def test_the_listing_is_decided_after_the_subject_was_heard(http, police, notified, clock):
    # 国办发〔2020〕49号 (八): the subject is told, and may state a defence, before the listing decision;
    # the record is decided when finalized (today by default), never on the day the notice carried.
    clock("2026-11-30T10:00")
    url = f"/v1/notices/{notified['id']}/finalize"
    for day in ("2026-11-18", "2026-11-27"):  # the notice's own date; the statement period's last day
        before = http.post(url, json={"decision_date": day}, headers=police)
        assert before.status_code == 422 and before.json()["fields"][0]["field"] == "decision_date"
        assert "2026-11-28" in before.json()["detail"]
    future = http.post(url, json={"decision_date": "2026-12-01"}, headers=police)
    assert future.status_code == 422 and future.json()["fields"][0]["field"] == "decision_date"
    record = http.post(url, json={"decision_no": "公罚决〔2026〕9号"}, headers=police).json()
    assert record["decision_date"] == "2026-11-30" and record["decision_no"] == "公罚决〔2026〕9号"
    assert http.get(f"/v1/public/notices/{notified['query_code']}").json()["decision_date"] == "2026-11-30"
    assert record["publicity_end"][4:] in ("-11-29", "-11-30"), record  # the period runs from the decision


def test_a_statement_received_lets_the_decision_come_before_respond_by(http, police, notified, clock):
    clock("2026-11-24T10:00")
    stated = http.post(
        f"/v1/public/notices/{notified['query_code']}/statement",
        json={"statement": "无异议", "contact": "13800000000"},
    )
    assert stated.status_code == 201
    url = f"/v1/notices/{notified['id']}/finalize"
    early = http.post(url, json={"considered": "已复核", "decision_date": "2026-11-23"}, headers=police)
    assert early.status_code == 422 and "2026-11-24" in early.json()["detail"]
    record = http.post(url, json={"considered": "已复核"}, headers=police).json()
    assert record["decision_date"] == "2026-11-24"
