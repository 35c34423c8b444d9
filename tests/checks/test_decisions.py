"""The decision matrix: each effect, precedence, red plus black, what is ignored, as-of answers."""

from tests.checks.helpers import COURT, POLICE, TAX, approver, check, codes, push


def test_serious_telecom_fraud_restricts_licensing_with_its_legal_basis(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1)
    answer = check(http, approver_headers, 1, "administrative_license", reference="许可-2026-001")
    assert answer["found"] is True and answer["decision"] == "restrict"
    assert codes(answer["measures"]) == [
        "restrict_market_access_and_licensing",
        "credit_reminder",
        "strict_review_of_licensing",
    ]
    first = answer["measures"][0]
    assert first["effect"] == "restrict" and first["record_ids"] == [record["id"]]
    assert "文明委〔2020〕6号" in first["legal_basis"] and first["name_zh"] == "限制市场准入和行政许可"
    assert answer["measures"][1]["effect"] == "strict_review"
    assert [r["id"] for r in answer["records"]] == [record["id"]]
    assert answer["records"][0]["designating_agency"]["code"] == POLICE
    assert answer["subject"]["identifier"] == record["subject"]["identifier"]
    assert answer["reference"] == "许可-2026-001" and answer["incentives"] == []
    assert answer["receipt"].count(".") == 2


def test_a_listed_subject_is_at_least_strictly_reviewed_where_no_measure_bears_on_the_action(
    http, police, token_for, clock
):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    # A general record: no rule of the seed bears on financing for it (serious ones reach every action).
    record = push(http, police, 1, severity="general")
    answer = check(http, approver_headers, 1, "financing")
    assert answer["found"] is True and answer["decision"] == "strict_review" and answer["measures"] == []
    assert [r["id"] for r in answer["records"]] == [record["id"]]
    assert answer["records"][0]["measures"] == []


def test_court_judgments_prohibit_high_consumption(http, token_for, clock):
    court = token_for(COURT, "records:write")
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, court, 1, domain="court_judgments", severity="general")
    answer = check(http, approver_headers, 1, "high_consumption")
    assert answer["decision"] == "prohibit"
    assert codes(answer["measures"]) == ["restrict_high_consumption"]
    assert "最高人民法院" in answer["measures"][0]["legal_basis"]


def test_the_strongest_effect_wins_and_one_measure_gathers_its_records(http, police, token_for, clock):
    court = token_for(COURT, "records:write")
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    telecom = push(http, police, 1)
    judgment = push(http, court, 1, external_id="court-1", domain="court_judgments", severity="general")
    answer = check(http, approver_headers, 1, "high_consumption")
    assert answer["decision"] == "prohibit"
    (measure,) = answer["measures"]
    assert measure["effect"] == "prohibit"
    assert sorted(measure["record_ids"]) == sorted([telecom["id"], judgment["id"]])
    assert len(measure["rules"]) == 2


def test_serious_dishonesty_in_any_domain_means_strict_licence_review(http, token_for, clock):
    tax = token_for(TAX, "records:write")
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, tax, 1, domain="tax_fraud")
    answer = check(http, approver_headers, 1, "administrative_license")
    assert answer["decision"] == "strict_review"
    assert codes(answer["measures"]) == ["credit_reminder", "strict_review_of_licensing"]
    assert check(http, approver_headers, 1, "public_procurement")["decision"] == "restrict"


def test_a_red_listed_entity_gets_incentives(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1, list_type="red", severity="general")
    answer = check(http, approver_headers, 1, "administrative_license")
    assert answer["decision"] == "incentive" and answer["measures"] == []
    assert codes(answer["incentives"]) == ["acceptance_with_missing_documents", "green_channel"]
    assert check(http, approver_headers, 1, "routine_inspection")["decision"] == "incentive"
    assert check(http, approver_headers, 1, "financing")["decision"] == "clear"


def test_red_plus_black_punishment_withholds_incentives(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1, list_type="red", severity="general")
    push(http, police, 1, external_id="black-1")
    answer = check(http, approver_headers, 1, "administrative_license")
    assert answer["decision"] == "restrict"
    assert answer["incentives"] == []
    assert answer["incentives_withheld"] == ["acceptance_with_missing_documents", "green_channel"]


def test_below_a_rules_minimum_severity_no_measure_applies_but_the_record_is_shown(
    http, police, token_for, clock
):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    minor = push(http, police, 1, severity="minor")
    general = push(http, police, 2, severity="general")
    # The serious-only restrictions stay away; what the lower levels bring is strict review at most
    # (a reminder for minor lapses, strict licence review from general on).
    expected = {
        (1, "administrative_license"): ["credit_reminder"],
        (2, "administrative_license"): ["credit_reminder", "strict_review_of_licensing"],
    }
    for n, record in ((1, minor), (2, general)):
        for action in ("administrative_license", "public_procurement", "financing"):
            answer = check(http, approver_headers, n, action)
            assert answer["found"] is True
            assert codes(answer["measures"]) == expected.get((n, action), []), (n, action)
            # A black record in force is never "clear" (API.md, second release).
            assert answer["decision"] == "strict_review"
            assert [r["id"] for r in answer["records"]] == [record["id"]]


def test_expired_and_revoked_records_are_ignored(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    revoked = push(http, police, 1)
    http.post(
        f"/v1/records/{revoked['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )
    assert check(http, approver_headers, 1, "administrative_license")["decision"] == "clear"

    push(http, police, 2, severity="serious", publicity_end="2027-11-18")
    assert check(http, approver_headers, 2, "administrative_license")["decision"] == "restrict"
    clock("2027-11-19T09:00")  # the day after its publicity end, before any sweep
    assert check(http, approver_headers, 2, "administrative_license")["decision"] == "clear"
    # ... but a check as of a day it was in force still finds it.
    past = check(http, approver_headers, 2, "administrative_license", as_of="2027-11-18")
    assert past["decision"] == "restrict" and past["as_of"] == "2027-11-18"


def test_records_under_objection_still_apply_and_are_flagged(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1)
    objection = {"record_id": record["id"], "reason": "inaccurate", "statement": "有误", "contact": "138"}
    assert http.post("/v1/public/objections", json=objection).status_code == 201
    answer = check(http, approver_headers, 1, "administrative_license")
    assert answer["decision"] == "restrict" and answer["under_objection"] is True
    assert answer["records"][0]["under_objection"] is True


def test_as_of_uses_the_rules_in_force_that_day(http, police, token_for, clock):
    approver_headers = approver(token_for)
    admin = token_for("national.credit_office", "rules:admin")
    clock("2026-11-18T10:00")
    push(http, police, 1)
    rules = http.get("/v1/rules?domain=telecom_fraud", headers=admin).json()
    licensing = next(r for r in rules if r["measure"] == "restrict_market_access_and_licensing")
    clock("2026-11-20T10:00")
    retired = http.delete(f"/v1/admin/rules/{licensing['id']}", headers=admin)
    assert retired.status_code == 200 and retired.json()["effective_to"] == "2026-11-19"

    today = check(http, approver_headers, 1, "administrative_license")
    assert today["decision"] == "strict_review"
    assert codes(today["measures"]) == ["credit_reminder", "strict_review_of_licensing"]
    before = check(http, approver_headers, 1, "administrative_license", as_of="2026-11-19")
    assert before["decision"] == "restrict"
    assert codes(before["measures"]) == [
        "restrict_market_access_and_licensing",
        "credit_reminder",
        "strict_review_of_licensing",
    ]
    # As of a day before the record was received, the registry knew nothing against the subject.
    assert (
        check(http, approver_headers, 1, "administrative_license", as_of="2026-11-17")["decision"] == "clear"
    )


def test_as_of_a_changed_rule_answers_with_the_old_version(http, token_for, clock):
    court = token_for(COURT, "records:write")
    approver_headers = approver(token_for)
    admin = token_for("national.credit_office", "rules:admin")
    clock("2026-11-18T10:00")
    push(http, court, 1, domain="court_judgments", severity="general")
    (rule,) = [
        r
        for r in http.get("/v1/rules?domain=court_judgments", headers=admin).json()
        if r["measure"] == "restrict_high_consumption" and r["applies_to"] == "subject"
    ]
    clock("2026-11-20T10:00")
    changed = {k: rule[k] for k in ("domain", "list_type", "min_severity", "measure", "legal_basis")}
    answer = http.put(f"/v1/admin/rules/{rule['id']}", json=changed | {"effect": "restrict"}, headers=admin)
    assert answer.status_code == 200 and answer.json()["version"] == 2
    assert check(http, approver_headers, 1, "high_consumption")["decision"] == "restrict"
    assert check(http, approver_headers, 1, "high_consumption", as_of="2026-11-19")["decision"] == "prohibit"


def test_an_unknown_identifier_is_clear_and_still_recorded(http, token_for):
    approver_headers = approver(token_for)
    answer = check(http, approver_headers, 99, "public_procurement")
    assert answer["found"] is False and answer["decision"] == "clear" and answer["subject"] is None
    stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers)
    assert stored.status_code == 200 and stored.json()["found"] is False
    assert stored.json()["receipt"] == answer["receipt"]


def test_an_as_of_in_the_future_is_refused(http, token_for):
    approver_headers = approver(token_for)
    answer = http.post(
        "/v1/checks",
        json={"subject": {"identifier": "X"}, "action": "financing", "as_of": "2999-01-01"},
        headers=approver_headers,
    )
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "as_of"
