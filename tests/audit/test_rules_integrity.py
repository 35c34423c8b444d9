"""The measures and rules decide every check: a change made to them outside the registry shows in
the audit verification as one made to a record does."""

from sqlalchemy import delete, select, update

from app.db import session_scope
from app.rules.integrity import ensure_rules_baseline
from app.rules.models import Measure, Rule
from tests.rules.test_rules import _rule

ADMIN = "national.credit_office"


def _verdict(http, auditor):
    answer = http.get("/v1/admin/audit/verify", headers=auditor)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_rule_or_measure_changed_in_sql_is_reported_and_one_changed_through_the_registry_is_not(
    http, token_for
):
    admin = token_for(ADMIN, "rules:admin", "audit:read")
    rule = _rule()
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


def test_a_change_made_outside_the_registry_stays_reported_after_later_changes_and_a_restart(http, token_for):
    # Each change records the tables as it found them: a later change (or the seed catalog reloading
    # a deleted rule at the next start) does not launder what was done before it.
    from app.seed import load_seed_catalog

    admin = token_for(ADMIN, "rules:admin", "audit:read")
    with session_scope() as session:
        ensure_rules_baseline(session, "system")
    with session_scope() as session:
        session.execute(
            update(Rule).where(Rule.measure_code == "restrict_financing").values(effect="strict_review")
        )
        session.execute(delete(Rule).where(Rule.measure_code == "restrict_honors"))
    assert _verdict(http, admin)["reason"] == "rules_altered"
    measure = {
        "code": "restrict_travel_agency_licence",
        "name_zh": "限制旅行社业务经营许可",
        "kind": "punishment",
        "actions": ["administrative_license"],
        "legal_basis": "《旅行社条例》",
        "implementing_agency": "文化和旅游部门",
    }
    assert http.post("/v1/admin/measures", json=measure, headers=admin).status_code == 201
    later = _verdict(http, admin)
    assert later["reason"] == "rules_altered" and "before audit entry" in later["detail"]
    with session_scope() as session:
        assert load_seed_catalog(session).loaded  # the deleted seed rule put back at "start"
    assert _verdict(http, admin)["reason"] == "rules_altered"
