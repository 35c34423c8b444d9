"""The measures and rules decide every check: a change made to them outside the registry shows in
the audit verification as one made to a record does."""

from sqlalchemy import delete, select, update

from app.db import session_scope
from app.rules.integrity import ensure_rules_baseline
from app.rules.models import Measure, Rule

ADMIN = "national.credit_office"


def _verdict(http, auditor):
    answer = http.get("/v1/admin/audit/verify", headers=auditor)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_rule_or_measure_changed_in_sql_is_reported_and_one_changed_through_the_registry_is_not(
    http, token_for
):
    admin = token_for(ADMIN, "rules:admin", "audit:read")
    rule = {
        "domain": "wage_arrears",
        "list_type": "black",
        "min_severity": "serious",
        "measure": "restrict_honors",
        "effect": "restrict",
        "effective_from": "2026-12-01",
        "legal_basis": "《保障农民工工资支付条例》第四十八条",
    }
    created = http.post("/v1/admin/rules", json=rule, headers=admin)
    assert created.status_code == 201, created.text
    assert _verdict(http, admin)["valid"] is True
    tampering = (
        update(Rule).where(Rule.rule_id == Rule.rule_id).values(effect="prohibit"),
        update(Measure).where(Measure.code == "restrict_honors").values(legal_basis="（无）"),
        delete(Rule).where(Rule.measure_code == "green_channel"),
    )
    for change in tampering:
        with session_scope() as session:
            rules = [dict(row._mapping) for row in session.execute(select(Rule.__table__))]
            measures = [dict(row._mapping) for row in session.execute(select(Measure.__table__))]
            session.execute(change)
        verdict = _verdict(http, admin)
        assert verdict["valid"] is False and verdict["reason"] == "rules_altered", change
        with session_scope() as session:  # put them back as they were
            session.execute(delete(Rule))
            session.execute(delete(Measure))
            session.execute(Measure.__table__.insert(), measures)
            session.execute(Rule.__table__.insert(), rules)
        assert _verdict(http, admin)["valid"] is True
    retired = http.delete(f"/v1/admin/rules/{created.json()['id']}", headers=admin)
    assert retired.status_code == 200 and _verdict(http, admin)["valid"] is True


def test_a_registry_without_a_recorded_digest_gets_its_baseline_once(http, token_for):
    # Rules last changed before digests were kept: the next start records them as they stand, and
    # from then on a change made outside the registry shows.
    auditor = token_for(ADMIN, "audit:read")
    with session_scope() as session:
        assert ensure_rules_baseline(session, "system") is True
    with session_scope() as session:
        assert ensure_rules_baseline(session, "system") is False
    assert _verdict(http, auditor)["valid"] is True
    with session_scope() as session:
        session.execute(update(Measure).where(Measure.code == "restrict_honors").values(legal_basis="（无）"))
    assert _verdict(http, auditor)["reason"] == "rules_altered"
