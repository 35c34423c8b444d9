"""Measures and rules: the seed list, validation, overlap, versions, retirement, audit."""

from sqlalchemy import func, select

from app.db import session_scope
from app.rules.models import Measure, Rule

ADMIN = "national.credit_office"


def _admin(token_for):
    return token_for(ADMIN, "rules:admin", "audit:read")


def _rule(**overrides):
    body = {
        "domain": "wage_arrears",
        "list_type": "black",
        "min_severity": "serious",
        "measure": "restrict_honors",
        "effect": "restrict",
        "effective_from": "2026-12-01",
        "legal_basis": "《保障农民工工资支付条例》第四十八条",
    }
    return body | overrides


def _rule_count() -> int:
    with session_scope(writing=False) as session:
        return int(session.scalar(select(func.count()).select_from(Rule)) or 0)


def test_the_seed_catalog_ships_measures_with_their_legal_basis(http):
    measures = {m["code"]: m for m in http.get("/v1/measures").json()}
    assert {"green_channel", "restrict_bidding", "restrict_high_consumption"} <= measures.keys()
    assert all(m["legal_basis"] and m["implementing_agency"] for m in measures.values())
    assert measures["green_channel"]["kind"] == "incentive"
    assert measures["restrict_market_access_and_licensing"]["actions"] == [
        "market_access",
        "administrative_license",
    ]


def test_rules_by_domain_include_the_every_domain_rules(http, token_for):
    admin = _admin(token_for)
    rules = http.get("/v1/rules?domain=telecom_fraud", headers=admin).json()
    assert {r["measure"] for r in rules if r["domain"] == "telecom_fraud"} >= {
        "restrict_financing",
        "restrict_honors",
    }
    assert {r["measure"] for r in rules if r["domain"] is None} >= {"restrict_bidding", "green_channel"}
    assert all(r["legal_basis"] and r["version"] == 1 for r in rules)
    court = http.get("/v1/rules?domain=court_judgments", headers=admin).json()
    # 法释〔2017〕7号 第八条 and the consumption restriction: the court's own measures.
    assert {r["measure"] for r in court if r["domain"] == "court_judgments"} == {
        "restrict_high_consumption",
        "restrict_bidding",
        "restrict_market_access_and_licensing",
        "restrict_financing",
        "restrict_government_funding",
        "restrict_preferential_policies",
        "strict_review_of_licensing",
    }
    assert http.get("/v1/rules?domain=nowhere", headers=admin).status_code == 422


def test_a_rule_is_created_and_audited(http, token_for):
    admin = _admin(token_for)
    answer = http.post("/v1/admin/rules", json=_rule(), headers=admin)
    assert answer.status_code == 201, answer.text
    rule = answer.json()
    assert rule["version"] == 1 and rule["effective_to"] is None and rule["domain"] == "wage_arrears"
    audit = http.get("/v1/admin/audit?limit=1000", headers=admin).json()
    items = audit["items"] if isinstance(audit, dict) else audit
    assert any(e["action"] == "rule.created" and e["entity_id"] == rule["id"] for e in items)


def test_bad_rules_are_refused_naming_the_field_and_nothing_is_stored(http, token_for):
    admin = _admin(token_for)
    before = _rule_count()
    cases = [
        ({k: v for k, v in _rule().items() if k != "legal_basis"}, "legal_basis"),
        (_rule(legal_basis="  "), "legal_basis"),
        (_rule(measure="flogging"), "measure"),
        (_rule(domain="nowhere"), "domain"),
        (_rule(effect="banish"), "effect"),
        (_rule(effect="incentive"), "effect"),
        (_rule(list_type="red"), "list_type"),
        (_rule(effective_to="2026-11-30"), "effective_to"),
    ]
    for body, field in cases:
        answer = http.post("/v1/admin/rules", json=body, headers=admin)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.json()["error"] == "validation_error"
        assert field in [f["field"] for f in answer.json()["fields"]], (field, answer.text)
    assert _rule_count() == before


def test_overlapping_rules_for_the_same_domain_list_and_measure_conflict(http, token_for):
    admin = _admin(token_for)
    assert (
        http.post("/v1/admin/rules", json=_rule(effective_to="2027-12-31"), headers=admin).status_code == 201
    )
    clash = http.post(
        "/v1/admin/rules", json=_rule(effective_from="2027-06-01", min_severity="general"), headers=admin
    )
    assert clash.status_code == 409 and clash.json()["error"] == "rule_overlap"
    after = http.post("/v1/admin/rules", json=_rule(effective_from="2028-01-01"), headers=admin)
    assert after.status_code == 201
    seeded = http.post(
        "/v1/admin/rules", json=_rule(domain="telecom_fraud", effective_from="2026-11-22"), headers=admin
    )
    assert seeded.status_code == 409


def test_a_change_makes_a_new_version_and_the_old_one_stays(http, token_for, clock):
    admin = _admin(token_for)
    clock("2026-11-01T10:00")
    rule = http.post("/v1/admin/rules", json=_rule(effective_from="2026-11-01"), headers=admin).json()
    clock("2026-12-10T10:00")
    answer = http.put(
        f"/v1/admin/rules/{rule['id']}",
        json=_rule(effective_from=None, min_severity="general"),
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    new = answer.json()
    assert (new["id"], new["version"], new["effective_from"], new["min_severity"]) == (
        rule["id"],
        2,
        "2026-12-10",
        "general",
    )
    versions = http.get(f"/v1/rules/{rule['id']}/versions", headers=admin).json()
    assert [(v["version"], v["effective_from"], v["effective_to"]) for v in versions] == [
        (1, "2026-11-01", "2026-12-09"),
        (2, "2026-12-10", None),
    ]
    as_of = http.get("/v1/rules?domain=wage_arrears&as_of=2026-12-01", headers=admin).json()
    mine = [r for r in as_of if r["id"] == rule["id"]]
    assert [r["version"] for r in mine] == [1]
    current = [
        r for r in http.get("/v1/rules?domain=wage_arrears", headers=admin).json() if r["id"] == rule["id"]
    ]
    assert [r["version"] for r in current] == [2]
    # A change cannot reach into the past.
    past = http.put(f"/v1/admin/rules/{rule['id']}", json=_rule(effective_from="2026-12-01"), headers=admin)
    assert past.status_code == 422 and past.json()["fields"][0]["field"] == "effective_from"


def test_retiring_a_rule_ends_it_yesterday_and_twice_is_a_conflict(http, token_for, clock):
    admin = _admin(token_for)
    clock("2026-11-01T10:00")
    rule = http.post("/v1/admin/rules", json=_rule(effective_from="2026-11-01"), headers=admin).json()
    clock("2026-11-22T10:00")
    retired = http.delete(f"/v1/admin/rules/{rule['id']}", headers=admin)
    assert retired.status_code == 200 and retired.json()["effective_to"] == "2026-11-21"
    assert http.delete(f"/v1/admin/rules/{rule['id']}", headers=admin).status_code == 409
    assert (
        http.put(f"/v1/admin/rules/{rule['id']}", json=_rule(effective_from=None), headers=admin).status_code
        == 409
    )
    assert [r["id"] for r in http.get("/v1/rules?as_of=2026-11-21", headers=admin).json()].count(
        rule["id"]
    ) == 1
    assert rule["id"] not in [r["id"] for r in http.get("/v1/rules", headers=admin).json()]
    assert (
        http.delete("/v1/admin/rules/00000000-0000-0000-0000-000000000001", headers=admin).status_code == 404
    )


def test_a_rule_cannot_reach_into_the_past(http, token_for, clock):
    # A check answered yesterday, and its receipt, must be re-answered alike with as_of.
    admin = _admin(token_for)
    clock("2026-11-22T10:00")
    before = _rule_count()
    past = http.post("/v1/admin/rules", json=_rule(effective_from="2026-11-21"), headers=admin)
    assert past.status_code == 422 and past.json()["fields"][0]["field"] == "effective_from"
    assert _rule_count() == before
    today = http.post("/v1/admin/rules", json=_rule(effective_from="2026-11-22"), headers=admin)
    assert today.status_code == 201, today.text


def test_a_rule_retired_before_it_began_does_not_block_the_next(http, token_for, clock):
    # Made to begin on the 25th and retired on the 22nd, it ends on the 24th: it never applied,
    # and a rule from today on does not overlap it.
    admin = _admin(token_for)
    clock("2026-11-22T10:00")
    first = http.post("/v1/admin/rules", json=_rule(effective_from="2026-11-25"), headers=admin).json()
    assert http.delete(f"/v1/admin/rules/{first['id']}", headers=admin).status_code == 200
    again = http.post("/v1/admin/rules", json=_rule(effective_from=None), headers=admin)
    assert again.status_code == 201, again.text


def test_a_version_before_one_yet_to_begin_ends_every_earlier_one(http, token_for, clock):
    # v1 from today; v2 from 2027-01-10 (v1 ends 01-09); v3 from 2026-12-20: v1 must end 12-19 as
    # well, or two versions answer on the same days.
    admin = _admin(token_for)
    clock("2026-12-07T10:00")
    rule = http.post("/v1/admin/rules", json=_rule(effective_from=None), headers=admin).json()
    second = _rule(effective_from="2027-01-10", effect="restrict", min_severity="general")
    assert http.put(f"/v1/admin/rules/{rule['id']}", json=second, headers=admin).status_code == 200
    third = _rule(effective_from="2026-12-20", effect="prohibit")
    assert http.put(f"/v1/admin/rules/{rule['id']}", json=third, headers=admin).status_code == 200
    for day in ("2026-12-19", "2026-12-25", "2027-01-15"):
        answer = http.get("/v1/rules", params={"as_of": day, "domain": "wage_arrears"}, headers=admin).json()
        assert len([r for r in answer if r["id"] == rule["id"]]) == 1, day
    versions = http.get(f"/v1/rules/{rule['id']}/versions", headers=admin).json()
    assert [(v["version"], v["effective_from"], v["effective_to"]) for v in versions] == [
        (1, "2026-12-07", "2026-12-19"),
        (2, "2027-01-10", "2026-12-19"),  # never applies
        (3, "2026-12-20", None),
    ]


def test_retiring_a_rule_ends_the_version_still_running_before_a_later_one(http, token_for, clock):
    # v1 from today, v2 from the 20th: v1 runs until the 19th. Retired on the 7th, neither applies
    # from the 7th on, the listing shows neither, and a rule for the same measure may follow it.
    admin = _admin(token_for)
    clock("2026-12-07T10:00")
    rule = http.post("/v1/admin/rules", json=_rule(effective_from=None, effect="prohibit"), headers=admin)
    rule = rule.json()
    later = _rule(effective_from="2026-12-20", effect="restrict")
    assert http.put(f"/v1/admin/rules/{rule['id']}", json=later, headers=admin).status_code == 200
    listed = [
        (r["version"], r["effect"])
        for r in http.get("/v1/rules", headers=admin).json()
        if r["id"] == rule["id"]
    ]
    assert listed == [(1, "prohibit"), (2, "restrict")]  # the one in force, and the one to come
    # While v1 runs, another rule for the same measure would overlap it.
    clash = http.post(
        "/v1/admin/rules", json=_rule(effective_from=None, legal_basis="另一依据"), headers=admin
    )
    assert clash.status_code == 409 and clash.json()["error"] == "rule_overlap"
    assert http.delete(f"/v1/admin/rules/{rule['id']}", headers=admin).status_code == 200
    versions = http.get(f"/v1/rules/{rule['id']}/versions", headers=admin).json()
    assert [(v["version"], v["effective_to"]) for v in versions] == [(1, "2026-12-06"), (2, "2026-12-19")]
    for day in ("2026-12-07", "2026-12-15", "2026-12-25"):
        answer = http.get("/v1/rules", params={"as_of": day, "domain": "wage_arrears"}, headers=admin).json()
        assert rule["id"] not in [r["id"] for r in answer], day
    assert rule["id"] not in [r["id"] for r in http.get("/v1/rules", headers=admin).json()]
    assert http.delete(f"/v1/admin/rules/{rule['id']}", headers=admin).status_code == 409
    again = http.post(
        "/v1/admin/rules", json=_rule(effective_from=None, legal_basis="另一依据"), headers=admin
    )
    assert again.status_code == 201, again.text


def test_a_measure_is_added_with_its_legal_basis(http, token_for):
    admin = _admin(token_for)
    measure = {
        "code": "restrict_travel_agency_licence",
        "name_zh": "限制旅行社业务经营许可",
        "name_en": "Restrict travel agency licences",
        "kind": "punishment",
        "actions": ["administrative_license"],
        "legal_basis": "《旅行社条例》",
        "implementing_agency": "文化和旅游部门",
    }
    answer = http.post("/v1/admin/measures", json=measure, headers=admin)
    assert answer.status_code == 201, answer.text
    assert http.post("/v1/admin/measures", json=measure, headers=admin).status_code == 409
    bad = http.post(
        "/v1/admin/measures", json=measure | {"code": "x_y", "actions": ["teleport"]}, headers=admin
    )
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "actions[0]"
    reversed_name = measure | {"code": "x_r", "name_zh": "限制‮可许营经"}  # an override shows it reversed
    assert (
        http.post("/v1/admin/measures", json=reversed_name, headers=admin).json()["fields"][0]["field"]
        == "name_zh"
    )
    no_basis = {k: v for k, v in measure.items() if k != "legal_basis"} | {"code": "x_z"}
    assert http.post("/v1/admin/measures", json=no_basis, headers=admin).status_code == 422
    with session_scope(writing=False) as session:
        assert session.get(Measure, "x_y") is None and session.get(Measure, "x_z") is None
    rule = _rule(
        domain="low_price_tours", measure="restrict_travel_agency_licence", effective_from="2026-11-22"
    )
    assert http.post("/v1/admin/rules", json=rule, headers=admin).status_code == 201
