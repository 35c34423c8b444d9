"""Every listing reaches the approver with a measure: the matrix of domain × list type × severity of both
seed plans, each cell led to a measure by the rules in force, in proportion to its weight, each measure
and rule citing its source; the coverage an administrator reads, and what it shows once rules go."""

import re
from datetime import date

import pytest
from sqlalchemy import delete, select

from app.catalog.seed import read_seed_catalog
from app.catalog.service import domain_codes
from app.db import session_scope
from app.kit.clock import china_today
from app.rules import service
from app.rules.models import Measure, Rule
from app.rules.schemas import ACTIONS, LIST_TYPES, SEVERITIES
from app.rules.seed import seed_rule_id
from app.seed import load_seed_catalog

ADMIN = "national.credit_office"
SEED = read_seed_catalog()
PLANS = {plan["code"]: plan["document_no"] for plan in SEED["plans"]}
# Every domain of both plans, as the plans' items name them.
PLAN_DOMAINS = sorted({item["domain"] for item in SEED["assignments"]})
CELLS = [(d, lt, sev) for d in PLAN_DOMAINS for lt in LIST_TYPES for sev in SEVERITIES]

# What a seed citation may rest on: the two seed plans and the national rules they stand on.
SEED_DOCUMENTS = ("文明委〔2020〕6号", "枣文明委〔2019〕2号")
NATIONAL_RULES = (
    "国发〔2016〕33号",
    "国办发〔2020〕49号",
    "国办发〔2025〕22号",
    "法释〔2017〕7号",
    "最高人民法院关于限制被执行人高消费及有关消费的若干规定",
    "最高人民法院关于公布失信被执行人名单信息的若干规定",
)
# The sections and items of each plan a citation may point at ("枣文明委〔2019〕2号 二、13").
PLAN_ITEMS = {
    "文明委〔2020〕6号": {"二": 10, "三": 3, "四": 3},
    "枣文明委〔2019〕2号": {"二": 18, "三": 3, "四": 3, "五": 3, "六": 3},
}
CITATION = re.compile(r"(枣?文明委〔20\d\d〕\d+号) ([一二三四五六])、(\d+)")

PUNISHING = {"prohibit", "restrict"}


def _admin(token_for, scope="rules:admin"):
    return token_for(ADMIN, scope)


def _coverage(http, headers, **params):
    answer = http.get("/v1/admin/rules/coverage", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _cell(coverage, domain, list_type, severity):
    (cell,) = [
        c
        for c in coverage["items"]
        if (c["domain"], c["list_type"], c["severity"]) == (domain, list_type, severity)
    ]
    return cell


def test_both_plans_name_the_nineteen_domains():
    with session_scope(writing=False) as session:
        assert set(PLAN_DOMAINS) == domain_codes(session)
    assert len(PLAN_DOMAINS) == 19 and len(CELLS) == 19 * 3 * 3


def _disproportion(domain: str, list_type: str, severity: str, cell: dict) -> str | None:
    """Why the measures of a cell are out of proportion to its weight, or None."""
    codes = {m["code"] for m in cell["measures"]}
    effects = {m["effect"] for m in cell["measures"]}
    if list_type == "red":
        # 联合奖惩: the red list gets incentives, never a sanction.
        if effects != {"incentive"} or "green_channel" not in codes:
            return f"red list: {sorted(effects)}"
    elif severity == "minor" or list_type == "focus":
        # Minor lapses and the focus list: strict review at most (国办发〔2025〕22号; 49号 过惩相当).
        if effects != {"strict_review"} or "credit_reminder" not in codes:
            return f"{severity} {list_type}: {sorted(effects)}"
    elif severity == "serious":
        if not effects & PUNISHING:
            return "a serious black record leads to no restriction"
    elif domain != "court_judgments" and (
        # General: strict review; only a court's listing carries restrictions by law (法释〔2017〕7号).
        effects != {"strict_review"} or "strict_review_of_licensing" not in codes
    ):
        return f"general black: {sorted(effects)}"
    return None


@pytest.mark.parametrize("domain", PLAN_DOMAINS)
def test_every_kind_of_record_leads_to_a_proportionate_measure(http, token_for, domain):
    """The generated matrix: each list type × severity of the domain, through the rule set a check
    evaluates and through the coverage an administrator reads."""
    with session_scope(writing=False) as session:
        rules = service.rule_set(session, china_today())
    coverage = _coverage(http, _admin(token_for))
    problems = []
    for list_type in LIST_TYPES:
        for severity in SEVERITIES:
            where = f"{domain}/{list_type}/{severity}"
            matched = {
                (rule.measure, rule.effect)
                for action in ACTIONS
                for rule in rules.matching(action, domain, list_type, severity)
            }
            cell = _cell(coverage, domain, list_type, severity)
            shown = {(m["code"], m["effect"]) for m in cell["measures"]}
            if not matched or cell["uncovered"] or not shown:
                problems.append(f"{where}: no measure")
            elif not shown <= matched or not all(m["actions"] and m["rules"] for m in cell["measures"]):
                problems.append(f"{where}: the coverage differs from the rule set")
            elif reason := _disproportion(domain, list_type, severity, cell):
                problems.append(f"{where}: {reason}")
    assert problems == []


def test_the_coverage_answers_for_every_domain_list_and_severity(http, token_for):
    for scope in ("rules:admin", "admin"):
        coverage = _coverage(http, _admin(token_for, scope))
        assert coverage["as_of"] == china_today().isoformat()
        assert coverage["cells"] == len(coverage["items"]) == len(CELLS)
        assert coverage["uncovered"] == 0
        assert sorted((c["domain"], c["list_type"], c["severity"]) for c in coverage["items"]) == sorted(
            CELLS
        )
    court = _cell(coverage, "court_judgments", "black", "general")
    (consumption,) = [m for m in court["measures"] if m["code"] == "restrict_high_consumption"]
    assert consumption["effect"] == "prohibit" and consumption["actions"] == ["high_consumption"]
    assert court["measures"][0]["code"] == "restrict_high_consumption"  # strongest first
    telecom = _cell(coverage, "telecom_fraud", "black", "serious")
    (licensing,) = [m for m in telecom["measures"] if m["code"] == "restrict_market_access_and_licensing"]
    assert licensing["actions"] == ["market_access", "administrative_license"]
    assert http.get("/v1/admin/rules/coverage", headers=token_for(ADMIN, "checks:write")).status_code == 403


def test_every_seed_measure_and_rule_cites_its_source():
    measures = {m["code"]: m for m in SEED["measures"]}
    for entry in [*SEED["measures"], *SEED["rules"]]:
        name = entry.get("code") or f"{entry.get('domain') or '*'}/{entry['list_type']}/{entry['measure']}"
        basis, source = entry["legal_basis"].strip(), entry["source"].strip()
        assert basis and source, name
        assert any(doc in basis for doc in SEED_DOCUMENTS + NATIONAL_RULES), name
        # The source is the seed passage that names it; every passage cited exists in its plan.
        assert CITATION.search(source), name
        for document, section, item in CITATION.findall(basis + source):
            assert int(item) <= PLAN_ITEMS[document].get(section, 0), (name, document, section, item)
    for rule in SEED["rules"]:
        measure = measures[rule["measure"]]
        assert set(measure["actions"]) <= set(ACTIONS)
        # An incentive for the red list only; a sanction never for it.
        assert (
            (rule["effect"] == "incentive")
            == (measure["kind"] == "incentive")
            == (rule["list_type"] == "red")
        )
    keys = [seed_rule_id(rule) for rule in SEED["rules"]]
    assert len(keys) == len(set(keys)), "one seed rule per domain, list and measure"


def test_the_seed_as_served_carries_legal_basis_and_source(http, token_for):
    measures = http.get("/v1/measures").json()
    assert {m["code"] for m in measures} >= {
        "credit_reminder",
        "intensified_supervision",
        "link_insurance_premium",
    }
    assert all(m["legal_basis"] and m["source"] for m in measures)
    rules = http.get("/v1/rules", headers=_admin(token_for)).json()
    assert len(rules) == len(SEED["rules"])
    assert all(r["legal_basis"] and r["source"] for r in rules)


def test_retiring_the_rules_of_a_cell_flags_it_uncovered(http, token_for, clock):
    admin = _admin(token_for)
    clock("2026-11-22T10:00")
    before = _cell(_coverage(http, admin), "wage_arrears", "black", "minor")
    assert before["uncovered"] is False
    retired = {ref["id"] for measure in before["measures"] for ref in measure["rules"]}
    for rule_id in retired:
        answer = http.delete(f"/v1/admin/rules/{rule_id}", headers=admin)
        assert answer.status_code == 200, answer.text

    after = _coverage(http, admin)
    cell = _cell(after, "wage_arrears", "black", "minor")
    assert cell == {
        "domain": "wage_arrears",
        "list_type": "black",
        "severity": "minor",
        "uncovered": True,
        "measures": [],
    }
    # The reminder was an every-domain rule: minor black records are uncovered in every domain, and
    # nothing else is.
    flagged = {(c["domain"], c["list_type"], c["severity"]) for c in after["items"] if c["uncovered"]}
    assert flagged == {(domain, "black", "minor") for domain in PLAN_DOMAINS}
    assert after["uncovered"] == len(PLAN_DOMAINS)
    general = _cell(after, "wage_arrears", "black", "general")
    assert "credit_reminder" not in {m["code"] for m in general["measures"]} and general["measures"]
    # As of yesterday the rules were still in force.
    assert _coverage(http, admin, as_of="2026-11-21")["uncovered"] == 0


def test_a_database_seeded_before_gets_the_new_measures_from_today_and_keeps_what_was_decided(
    http, token_for, clock
):
    admin = _admin(token_for)
    auditor = token_for(ADMIN, "audit:read")
    clock("2026-11-22T10:00")
    # An administrator retired one seed rule and put a rule of their own in the place of another.
    honours = next(r for r in SEED["rules"] if r["measure"] == "restrict_honors" and "domain" not in r)
    assert http.delete(f"/v1/admin/rules/{seed_rule_id(honours)}", headers=admin).status_code == 200
    wages = {"domain": "wage_arrears", "list_type": "black", "measure": "strict_review_of_licensing"}
    with session_scope() as session:
        # ... and the database predates the reminder and the wage-arrears licensing rule.
        session.execute(delete(Rule).where(Rule.measure_code == "credit_reminder"))
        session.execute(delete(Measure).where(Measure.code == "credit_reminder"))
        session.execute(delete(Rule).where(Rule.rule_id == seed_rule_id(wages)))
    service.invalidate_cache()
    own = {
        **wages,
        "min_severity": "serious",
        "effect": "strict_review",
        "effective_from": "2026-11-22",
        "legal_basis": "《保障农民工工资支付条例》第四十八条",
    }
    assert http.post("/v1/admin/rules", json=own, headers=admin).status_code == 201
    assert _coverage(http, admin)["uncovered"] > 0

    with session_scope() as session:
        loaded = load_seed_catalog(session)
    service.invalidate_cache()
    assert loaded.loaded and loaded.counts == {"measures": 1, "rules": 2}

    assert _coverage(http, admin)["uncovered"] == 0
    with session_scope(writing=False) as session:
        reminders = session.scalars(select(Rule).where(Rule.measure_code == "credit_reminder")).all()
        assert {r.effective_from for r in reminders} == {date(2026, 11, 22)}  # not back-dated
        (honours_rule,) = session.scalars(select(Rule).where(Rule.rule_id == seed_rule_id(honours))).all()
        assert honours_rule.closed_reason == "retired"  # not brought back
        wage_rules = session.scalars(
            select(Rule).where(
                Rule.domain_code == "wage_arrears",
                Rule.list_type == "black",
                Rule.measure_code == "strict_review_of_licensing",
            )
        ).all()
        assert [r.legal_basis for r in wage_rules] == [own["legal_basis"]]  # the administrator's stays alone
    # What was in force yesterday stays as it was.
    assert _coverage(http, admin, as_of="2026-11-21")["uncovered"] == len(PLAN_DOMAINS) * 2
    audit = http.get("/v1/admin/audit?limit=1000", headers=auditor).json()
    items = audit["items"] if isinstance(audit, dict) else audit
    assert any(e["action"] == "catalog.loaded" for e in items)
    # Loading again adds nothing.
    with session_scope() as session:
        assert load_seed_catalog(session).loaded is False


def test_the_coverage_path_is_not_read_as_a_rule_id(http, token_for):
    """Found by the fuzzer: PUT /v1/admin/rules/coverage was taken for a rule called "coverage" (422
    about its id); a rule is named only by a UUID, so the path has no PUT at all."""
    admin = _admin(token_for)
    wrong_method = http.put("/v1/admin/rules/coverage", json={}, headers=admin)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    assert http.get("/v1/rules/coverage/versions", headers=admin).status_code == 404
