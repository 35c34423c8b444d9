"""What an approver must never get: a "clear" for a code that cannot exist or for a listed subject, and
what another agency restricted; and the receipt covers everything the answer claims."""

import base64
import json
from typing import Any

from sqlalchemy import func, select

from app.checks import receipts
from app.checks.models import Check
from app.db import session_scope
from tests.checks.helpers import APPROVER, approver, check, push
from tests.conftest import POLICE, make_resident_id, make_uscc, record_body

WAGE_LEAD = "zaozhuang.human_resources_social_security"


def _stored_checks() -> int:
    with session_scope(writing=False) as session:
        return int(session.scalar(select(func.count()).select_from(Check)) or 0)


def _payload(receipt: str) -> dict[str, Any]:
    body = receipt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _wrong_check_character(identifier: str, alphabet: str) -> str:
    return identifier[:-1] + next(ch for ch in alphabet if ch != identifier[-1])


def test_an_identifier_that_cannot_exist_is_refused_never_answered(http, token_for):
    from datetime import date

    headers = approver(token_for)
    impossible = [
        "bad",
        _wrong_check_character(make_uscc(1), "0123456789ABCDEFGHJKLMNPQRTUWXY"),
        _wrong_check_character(make_resident_id(date(1980, 5, 17)), "0123456789X"),
        "9111000000000000",  # too short for either standard
    ]
    for identifier in impossible:
        answer = http.post(
            "/v1/checks", json={"subject": {"identifier": identifier}, "action": "financing"}, headers=headers
        )
        assert answer.status_code == 422, (identifier, answer.text)
        body = answer.json()
        assert body["error"] == "validation_error"
        assert [f["field"] for f in body["fields"]] == ["subject.identifier"]
        assert "receipt" not in body
    assert _stored_checks() == 0


def test_a_batch_refuses_only_the_items_that_cannot_exist(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    items = [
        {"subject": {"identifier": make_uscc(1)}, "action": "financing"},
        {"subject": {"identifier": "bad"}, "action": "financing"},
        {"subject": {"identifier": make_uscc(2)}, "action": "financing"},
    ]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=headers)
    assert answer.status_code == 200, answer.text
    first, refused, third = answer.json()["results"]
    assert first["decision"] == "restrict" and first["receipt"]
    assert third["decision"] == "clear" and third["found"] is False and third["receipt"]
    assert refused["index"] == 1 and refused["status"] == "error"
    assert refused["error"] == "validation_error" and "receipt" not in refused
    assert "subject.identifier" in refused["detail"]
    assert _stored_checks() == 2


def test_an_identifier_of_neither_standard_is_checked_when_its_type_is_named(http, token_for, clock):
    headers = approver(token_for)
    court = token_for("national.supreme_court", "records:write")
    clock("2026-11-18T10:00")
    passport = "E12345678"
    person = {"kind": "natural_person", "name": "张三", "identifier_type": "other", "identifier": passport}
    body = record_body(1, domain="court_judgments", severity="general", subject=person)
    assert http.post("/v1/records", json=body, headers=court).status_code == 201
    asked = {"subject": {"identifier": passport}, "action": "high_consumption"}
    untyped = http.post("/v1/checks", json=asked, headers=headers)
    assert untyped.status_code == 422
    typed = http.post(
        "/v1/checks",
        json={"subject": {"identifier": passport, "identifier_type": "other"}, "action": "high_consumption"},
        headers=headers,
    )
    assert typed.status_code == 200 and typed.json()["decision"] == "prohibit"


def test_a_general_black_record_in_a_domain_without_rules_is_never_clear(http, token_for, clock):
    headers = approver(token_for)
    wages = token_for(WAGE_LEAD, "records:write")
    clock("2026-11-18T10:00")
    record = push(http, wages, 1, domain="wage_arrears", severity="general", visibility="public")
    for action in ("administrative_license", "financing", "market_access", "honors"):
        answer = check(http, headers, 1, action)
        assert answer["decision"] == "strict_review", action
        assert [r["id"] for r in answer["records"]] == [record["id"]]
        assert answer["records"][0]["decision_no"] == record["decision_no"]


def test_a_focus_record_is_never_clear(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1, list_type="focus", severity="general")
    answer = check(http, headers, 1, "administrative_license")
    assert answer["decision"] == "strict_review"
    assert [r["id"] for r in answer["records"]] == [record["id"]]


def test_a_punishment_whose_effect_reads_incentive_never_lets_a_listed_subject_through(
    http, police, token_for, clock
):
    # The API refuses such a rule; one changed behind the registry's back must still not answer a
    # black listing with "incentive": the floor holds whatever a rule says.
    from sqlalchemy import update

    from app.rules.models import Rule
    from app.rules.service import invalidate_cache

    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    with session_scope() as session:
        session.execute(update(Rule).where(Rule.list_type == "black").values(effect="incentive"))
    invalidate_cache()
    for action in ("administrative_license", "financing"):
        assert check(http, headers, 1, action)["decision"] == "strict_review", action


def test_a_red_record_alone_with_no_incentive_for_the_action_is_clear_but_shown(
    http, police, token_for, clock
):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1, list_type="red", severity="general")
    answer = check(http, headers, 1, "financing")
    assert answer["decision"] == "clear" and answer["measures"] == [] and answer["incentives"] == []
    assert [r["id"] for r in answer["records"]] == [record["id"]]


def test_another_agencys_restricted_record_shows_the_measure_not_the_document(http, police, token_for, clock):
    headers = approver(token_for)
    admin = token_for(APPROVER, "checks:write", "admin")
    own = token_for(POLICE, "checks:write")
    clock("2026-11-18T10:00")
    record = push(
        http,
        police,
        1,
        visibility="restricted",
        subject={"name": "诈骗集团（已被通缉）有限公司"},
        decision_no="公刑罚字〔2026〕机密1号",
    )
    answer = check(http, headers, 1, "financing")
    assert answer["decision"] == "restrict"
    (shown,) = answer["records"]
    assert shown["domain"] == "telecom_fraud" and shown["list_type"] == "black"
    assert shown["measures"] == ["restrict_financing"]
    for hidden in ("id", "decision_no", "decision_date", "publicity_end", "designating_agency", "severity"):
        assert shown[hidden] is None, hidden
    assert [m["code"] for m in answer["measures"]] == ["restrict_financing"]
    assert answer["measures"][0]["record_ids"] == []
    assert answer["subject"]["name"] is None  # only the restricted record names it
    text = json.dumps(answer, ensure_ascii=False)
    assert record["id"] not in text and "机密" not in text and "通缉" not in text and POLICE not in text
    stored = http.get(f"/v1/checks/{answer['id']}", headers=headers).json()
    assert record["id"] not in json.dumps(stored, ensure_ascii=False)
    for insider in (own, admin):
        full = check(http, insider, 1, "financing")
        assert full["records"][0]["id"] == record["id"]
        assert full["records"][0]["decision_no"] == "公刑罚字〔2026〕机密1号"
        assert full["measures"][0]["record_ids"] == [record["id"]]
        assert full["subject"]["name"] == "诈骗集团（已被通缉）有限公司"
    # Nor on a day before it was pushed, nor once it is revoked: the subject is known, its name is not.
    clock("2026-11-20T10:00")
    earlier = check(http, headers, 1, "financing", as_of="2026-11-17")
    revoke = {"reason": "撤销", "decision_no": "公撤字〔2026〕1号"}
    assert http.post(f"/v1/records/{record['id']}/revoke", json=revoke, headers=police).status_code == 200
    for later in (earlier, check(http, headers, 1, "financing")):
        assert later["decision"] == "clear" and later["subject"]["name"] is None
        assert "通缉" not in json.dumps(later, ensure_ascii=False)


def test_the_receipt_signs_the_approvers_reference(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    answer = check(http, headers, 1, "financing", reference="许可-2026-009")
    assert _payload(answer["receipt"])["reference"] == "许可-2026-009"
    items = [{"subject": {"identifier": make_uscc(1)}, "action": "financing", "reference": "批量-1"}]
    batch = http.post("/v1/checks/batch", json={"items": items}, headers=headers).json()["results"]
    assert receipts.verify(batch[0]["receipt"])["reference"] == "批量-1"
    stored = http.get(f"/v1/checks/{answer['id']}", headers=headers).json()
    assert stored["receipt"] == answer["receipt"]


def test_a_red_record_is_suspended_while_a_black_record_is_in_force(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1, list_type="red", severity="general")
    alone = check(http, headers, 1, "administrative_license")
    assert alone["decision"] == "incentive" and "suspended" not in alone["records"][0]
    push(http, police, 2, external_id="black-1", subject={"identifier": make_uscc(1)})
    answer = check(http, headers, 1, "administrative_license")
    assert answer["decision"] == "restrict" and answer["incentives"] == []
    red = next(r for r in answer["records"] if r["list_type"] == "red")
    assert red["suspended"] is True
