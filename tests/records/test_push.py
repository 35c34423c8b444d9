"""Pushing records one at a time: what is stored, what is refused and why."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.kit.clock import add_months, china_today
from app.records.models import Record, Subject
from tests.conftest import TAX, make_resident_id, make_uscc, record_body


def _count(model) -> int:
    with session_scope(writing=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_push_stores_the_record_with_what_the_registry_derives(http, police):
    answer = http.post("/v1/records", json=record_body(7), headers=police)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["status"] == "active" and record["version"] == 1
    assert record["designating_agency"] == {"code": "national.public_security", "name_zh": "公安部"}
    assert record["subject"]["identifier"] == make_uscc(7) and record["subject"]["id"]
    assert record["publicity_start"] == "2026-11-18"
    # serious: published until the 3-year maximum by default
    assert record["publicity_end"] == "2029-11-18"
    assert record["visibility"] == "public" and record["under_objection"] is False
    assert answer.headers["ETag"] == '"1"'
    again = http.get(f"/v1/records/{record['id']}", headers=police)
    assert again.status_code == 200 and again.json() == record


def test_same_push_twice_is_idempotent_and_a_different_body_conflicts(http, police):
    first = http.post("/v1/records", json=record_body(1), headers=police)
    second = http.post("/v1/records", json=record_body(1), headers=police)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    changed = http.post("/v1/records", json=record_body(1, conduct="另一行为"), headers=police)
    assert changed.status_code == 409 and changed.json()["error"] == "external_id_conflict"
    assert _count(Record) == 1


def test_identifier_is_normalized_so_a_lower_case_retry_is_the_same_push(http, police):
    first = http.post("/v1/records", json=record_body(2), headers=police).json()
    lower = record_body(2, subject={"identifier": f"  {make_uscc(2).lower()} "})
    retry = http.post("/v1/records", json=lower, headers=police)
    assert retry.status_code == 200 and retry.json()["id"] == first["id"]


def test_corrupted_uscc_names_the_field_and_the_expected_check_character(http, police):
    good = make_uscc(3)
    wrong_check = "0" if good[-1] != "0" else "1"
    answer = http.post(
        "/v1/records", json=record_body(3, subject={"identifier": good[:-1] + wrong_check}), headers=police
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "validation_error"
    (field,) = body["fields"]
    assert field["field"] == "subject.identifier"
    assert f"check character should be {good[-1]}" in field["detail"]
    assert _count(Record) == 0 and _count(Subject) == 0


def test_uscc_may_begin_with_letters(http, police):
    answer = http.post(
        "/v1/records",
        json=record_body(4, subject={"identifier": make_uscc(4, prefix="Y1110000")}),
        headers=police,
    )
    assert answer.status_code == 201, answer.text


def test_resident_id_with_impossible_birth_date_is_refused(http, police):
    person = {"kind": "natural_person", "identifier_type": "resident_id", "name": "张三"}
    body = "11010119900230001"  # 30 February
    from app.kit.identifiers import resident_id_check_character

    answer = http.post(
        "/v1/records",
        json=record_body(5, subject=person | {"identifier": body + resident_id_check_character(body)}),
        headers=police,
    )
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "subject.identifier"


def test_a_person_cannot_carry_a_company_code(http, police):
    answer = http.post("/v1/records", json=record_body(6, subject={"kind": "natural_person"}), headers=police)
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "subject.identifier_type"


def test_minor_on_the_decision_date_cannot_be_blacklisted(http, police):
    decided = date(2026, 11, 18)
    seventeen = make_resident_id(date(decided.year - 17, 6, 1))
    person = {
        "kind": "natural_person",
        "identifier_type": "resident_id",
        "name": "李四",
        "identifier": seventeen,
    }
    answer = http.post("/v1/records", json=record_body(8, subject=person), headers=police)
    assert answer.status_code == 422 and answer.json()["error"] == "minor_subject"
    assert _count(Record) == 0
    # The same person on the red list is fine, and an adult on the black list too.
    red = http.post("/v1/records", json=record_body(9, subject=person, list_type="red"), headers=police)
    assert red.status_code == 201, red.text
    # Full age the day after the 18th birthday (民法典 第二百零一条): not on the birthday itself.
    birthday = date(decided.year - 18, decided.month, decided.day)
    eighteenth = person | {"identifier": make_resident_id(birthday)}
    refused = http.post("/v1/records", json=record_body(10, subject=eighteenth), headers=police)
    assert refused.status_code == 422 and refused.json()["error"] == "minor_subject"
    adult = person | {"identifier": make_resident_id(birthday - timedelta(days=1))}
    assert http.post("/v1/records", json=record_body(10, subject=adult), headers=police).status_code == 201


def test_minor_severity_is_not_public_unless_the_agency_says_so(http, police):
    quiet = http.post("/v1/records", json=record_body(11, severity="minor"), headers=police).json()
    assert quiet["visibility"] == "shared"
    assert quiet["publicity_end"] == add_months(date(2026, 11, 18), 3).isoformat()
    loud = http.post(
        "/v1/records", json=record_body(12, severity="minor", visibility="public"), headers=police
    ).json()
    assert loud["visibility"] == "public"
    # The public sees the one its agency chose to publish (DOMAIN.md: at most 3 months), not the other.
    published = [r["decision_no"] for r in http.get(f"/v1/public/subjects/{make_uscc(12)}").json()["records"]]
    assert published == [record_body(12)["decision_no"]]
    assert http.get(f"/v1/public/subjects/{make_uscc(11)}").status_code == 404


def test_a_domain_the_agency_holds_no_role_in_is_403(http, police, token_for):
    answer = http.post("/v1/records", json=record_body(13, domain="tax_fraud"), headers=police)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    tax = token_for(TAX, "records:write")
    assert http.post("/v1/records", json=record_body(13, domain="tax_fraud"), headers=tax).status_code == 201


def test_unknown_domain_future_date_and_bad_publicity_end_name_their_field(http, police):
    tomorrow = (china_today() + timedelta(days=1)).isoformat()
    cases = {
        "domain": record_body(14, domain="jaywalking"),
        "decision_date": record_body(15, decision_date=tomorrow),
        "publicity_end": record_body(16, severity="general", publicity_end="2028-11-18"),
    }
    for field, body in cases.items():
        answer = http.post("/v1/records", json=body, headers=police)
        assert answer.status_code == 422, (field, answer.text)
        assert [f["field"] for f in answer.json()["fields"]] == [field]
    too_short = http.post(
        "/v1/records", json=record_body(17, severity="serious", publicity_end="2027-05-18"), headers=police
    )
    assert too_short.status_code == 422
    assert "2027-11-18" in too_short.json()["fields"][0]["detail"]
    within = http.post(
        "/v1/records", json=record_body(18, severity="general", publicity_end="2027-03-01"), headers=police
    )
    assert within.status_code == 201 and within.json()["publicity_end"] == "2027-03-01"
    assert _count(Record) == 1


def test_empty_and_oversized_text_and_unknown_fields_are_refused(http, police):
    for body, field in (
        (record_body(19, conduct="   "), "conduct"),
        (record_body(20, legal_basis="法" * 2001), "legal_basis"),
        (record_body(21, subject={"name": ""}), "subject.name"),
        (record_body(22, publicity_ends="2027-01-01"), "publicity_ends"),
    ):
        answer = http.post("/v1/records", json=body, headers=police)
        assert answer.status_code == 422
        assert field in [f["field"] for f in answer.json()["fields"]]
    assert _count(Record) == 0


def test_court_listing_defaults_to_two_years(http, token_for):
    court = token_for("national.supreme_court", "records:write")
    body = record_body(23, domain="court_judgments", severity="general")
    answer = http.post("/v1/records", json=body, headers=court)
    assert answer.status_code == 201, answer.text
    assert answer.json()["publicity_end"] == "2028-11-18"


def test_backfilled_record_whose_period_is_over_is_stored_expired(http, police):
    answer = http.post(
        "/v1/records", json=record_body(24, severity="general", decision_date="2020-01-06"), headers=police
    )
    assert answer.status_code == 201
    assert answer.json()["status"] == "expired"


def test_new_name_for_a_known_identifier_keeps_the_name_history(http, token_for, police):
    http.post(
        "/v1/records",
        json=record_body(25, subject={"identifier": make_uscc(99), "name": "旧名称有限公司"}),
        headers=police,
    )
    http.post(
        "/v1/records",
        json=record_body(26, subject={"identifier": make_uscc(99), "name": "新名称有限公司"}),
        headers=police,
    )
    view = http.get(f"/v1/subjects/{make_uscc(99)}", headers=police).json()
    assert view["subject"]["name"] == "新名称有限公司"
    assert view["names"] == ["旧名称有限公司", "新名称有限公司"]
    assert {r["subject"]["name"] for r in view["records"]} == {"旧名称有限公司", "新名称有限公司"}
    assert _count(Subject) == 1


def test_restricted_records_are_seen_only_by_their_agency(http, police, token_for):
    record = http.post("/v1/records", json=record_body(27, visibility="restricted"), headers=police).json()
    other = token_for("national.supreme_court", "records:read")
    assert http.get(f"/v1/records/{record['id']}", headers=other).status_code == 404
    assert http.get(f"/v1/records/{record['id']}", headers=police).status_code == 200
    assert http.get(f"/v1/subjects/{make_uscc(27)}", headers=other).status_code == 404  # its circle only


def test_a_second_record_about_a_known_subject_under_the_same_name_is_stored(http, police):
    first = http.post("/v1/records", json=record_body(1), headers=police)
    second = http.post("/v1/records", json=record_body(1, external_id="ext-1b"), headers=police)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json()["subject"]["id"] == first.json()["subject"]["id"]
    assert _count(Record) == 2 and _count(Subject) == 1


def test_control_characters_are_refused_on_every_database(http, police):
    """PostgreSQL cannot store NUL; both databases refuse it (and other control characters) alike."""
    answer = http.post("/v1/records", json=record_body(1, conduct="违法\x00事实"), headers=police)
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "conduct"
    assert "U+0000" in answer.json()["fields"][0]["detail"]
    batch = http.post(
        "/v1/records/batch",
        json={"records": [record_body(2, legal_basis="条\x07款"), record_body(3)]},
        headers=police,
    ).json()
    assert [item["status"] for item in batch["results"]] == ["error", "created"]
    assert (
        http.post("/v1/records", json=record_body(4, conduct="第一行\n第二行"), headers=police).status_code
        == 201
    )
    assert http.get("/v1/public/search", params={"q": "测试\x00科技"}).status_code == 422


@pytest.mark.parametrize("number", ["110101800101001", "110101201501011592"])
def test_a_persons_number_that_does_not_check_is_not_taken_as_other(http, police, number):
    # The old 15-digit form, or 18 digits whose check fails: given as "other" they escaped the minors
    # rule and the masking, and a check on the person's real number answered "clear".
    subject = {"kind": "natural_person", "name": "老证", "identifier_type": "other", "identifier": number}
    answer = http.post("/v1/records", json=record_body(1, subject=subject), headers=police)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "subject.identifier"
    passport = subject | {"identifier": "E98765432"}
    assert http.post("/v1/records", json=record_body(2, subject=passport), headers=police).status_code == 201


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("natural_person", "37040220100505777"),
        ("individual_business", "37040220100505777"),
        ("natural_person", "37○4○22○12○3○5456X"),  # zeros typed as the circle of 二○二六年
    ],
)
def test_a_persons_number_without_its_check_character_is_not_taken_as_other(http, police, kind, number):
    # 17 digits tell the 18th: a child's number so pushed escaped the minors rule.
    subject = {"kind": kind, "name": "周九", "identifier_type": "other", "identifier": number}
    answer = http.post("/v1/records", json=record_body(3, subject=subject), headers=police)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "subject.identifier"


def test_a_registration_number_of_an_individual_business_is_still_other(http, police):
    subject = {
        "kind": "individual_business",
        "name": "王记小吃店",
        "identifier_type": "other",
        "identifier": "370402600123456",
    }
    assert http.post("/v1/records", json=record_body(4, subject=subject), headers=police).status_code == 201


@pytest.mark.parametrize("field", ["decision_no", "conduct", "legal_basis"])
def test_text_that_is_only_invisible_or_reorders_itself_is_refused(http, police, field):
    for value in ("\u200b", "  \u200b ", "公罚\u202e号1〔6202〕", "\u2800", "\u3164", "\u034f", "\U000e0020"):
        answer = http.post("/v1/records", json=record_body(5, **{field: value}), headers=police)
        assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == field, (field, value)
