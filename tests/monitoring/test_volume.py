"""Alert volume stays bounded: a change alerts only the watched identifiers whose answer it changes,
once each, all signed with one signature; the day's turn alerts what rules starting that day change."""

from app.checks import receipts
from app.db import session_scope
from app.monitoring import alerts as alerting
from tests.conftest import make_uscc, record_body
from tests.monitoring.helpers import alerts, approver, make_alerts, watch

PROHIBIT = {
    "domain": "telecom_fraud",
    "list_type": "black",
    "min_severity": "serious",
    "measure": "credit_reminder",
    "effect": "prohibit",
    "legal_basis": "《中华人民共和国反电信网络诈骗法》第三十一条",
}


def _all_alerts(http, headers, watchlist_id):
    make_alerts()
    found, after = [], "0"
    while True:
        page = http.get(
            f"/v1/watchlists/{watchlist_id}/alerts", params={"after": after, "limit": 1000}, headers=headers
        ).json()
        if not page["items"]:
            return found
        found += page["items"]
        after = page["next"]


def test_a_rule_change_over_many_watched_alerts_only_where_answers_change(
    http, police, token_for, monkeypatch
):
    monkeypatch.setattr(alerting, "READ_CHUNK", 500)  # several chunks without 100,000 identifiers
    headers = approver(token_for)
    admin = token_for("national.credit_office", "rules:admin")
    watchlist = watch(http, headers, *range(1, 1201))
    assert watchlist["identifier_count"] == 1200
    batch = http.post(
        "/v1/records/batch", json={"records": [record_body(n) for n in range(1, 31)]}, headers=police
    )
    assert batch.json()["created"] == 30
    listed = _all_alerts(http, headers, watchlist["id"])
    assert sorted(a["identifier"] for a in listed) == sorted(make_uscc(n) for n in range(1, 31))
    # One push of 30 records: one signature over the 30 answers (a batch receipt each).
    roots = {a["receipt"].split("~")[0] for a in listed}
    assert len(roots) == 1 and all(receipts.verify(a["receipt"])["check_id"] == a["id"] for a in listed)

    rule = http.post("/v1/admin/rules", json=PROHIBIT | {"effective_from": "2026-11-22"}, headers=admin)
    assert rule.status_code == 201, rule.text
    after_rule = _all_alerts(http, headers, watchlist["id"])[30:]
    assert len(after_rule) == 30 and {a["event"] for a in after_rule} == {"rule.created"}
    assert {a["decision_after"] for a in after_rule} == {"prohibit"}
    assert len({a["receipt"].split("~")[0] for a in after_rule}) == 1
    # A rule change that changes no answer makes no alert.
    other = PROHIBIT | {"domain": "fake_lottery", "effective_from": "2026-11-22"}
    assert http.post("/v1/admin/rules", json=other, headers=admin).status_code == 201
    assert len(_all_alerts(http, headers, watchlist["id"])) == 60


def test_a_rule_taking_effect_tomorrow_alerts_when_the_day_turns(http, police, token_for, clock):
    headers = approver(token_for)
    admin = token_for("national.credit_office", "rules:admin")
    watchlist = watch(http, headers, 1)
    assert http.post("/v1/records", json=record_body(1), headers=police).status_code == 201
    rule = http.post("/v1/admin/rules", json=PROHIBIT | {"effective_from": "2026-11-23"}, headers=admin)
    assert rule.status_code == 201, rule.text
    assert [a["event"] for a in alerts(http, headers, watchlist["id"])] == ["record.created"]
    clock("2026-11-23T00:05")
    with session_scope() as session:
        assert alerting.rescan_for_new_day(session) == 1
    with session_scope() as session:
        assert alerting.rescan_for_new_day(session) == 0  # another process's turn: nothing twice
    last = alerts(http, headers, watchlist["id"])[-1]
    assert (last["event"], last["decision_after"]) == ("day.changed", "prohibit")
