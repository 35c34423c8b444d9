"""Watchlists and their alerts: an approver learns when what a check would answer changes."""

from app.checks import receipts
from tests.conftest import make_uscc, record_body
from tests.monitoring.helpers import ACTION, APPROVER, alerts, approver, decision, make_alerts, push, watch


def test_a_listing_of_a_watched_company_makes_one_signed_alert(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2)
    assert watchlist["identifier_count"] == 2 and watchlist["action"] == ACTION
    assert alerts(http, headers, watchlist["id"]) == []  # today's decisions are the baseline
    record = push(http, police, 1)
    push(http, police, 3)  # not watched: no alert
    (alert,) = alerts(http, headers, watchlist["id"])
    after = decision(http, headers, 1)
    assert after != "clear"
    assert alert["identifier"] == make_uscc(1) and alert["event"] == "record.created"
    assert (alert["decision_before"], alert["decision_after"]) == ("clear", after)
    assert alert["record_id"] == record["id"] and alert["watchlist_id"] == watchlist["id"]
    assert alert["check"]["decision"] == after and alert["check"]["records"][0]["id"] == record["id"]
    claims = receipts.verify(alert["receipt"])  # a check's receipt, verifiable with the JWKS
    assert claims["check_id"] == alert["id"] and claims["decision"] == after
    assert claims["subject"] == make_uscc(1) and claims["action"] == ACTION
    assert claims["reference"] == f"watchlist:{watchlist['id']}"
    # The same push again changes nothing: no second alert.
    push(http, police, 1)
    assert len(alerts(http, headers, watchlist["id"])) == 1
    # Reading alerts is reading the government view: the oversight log names it.
    auditor = token_for("national.credit_office", "audit:read")
    logged = http.get("/v1/admin/access-log", headers=auditor).json()["items"]
    assert any(entry["what"] == "watchlist_alerts" for entry in logged)


def test_revocation_objection_and_its_decision_each_alert(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1)
    # The worker makes each change's alerts after its commit (here: at once, each in turn).
    record = push(http, police, 1)
    assert make_alerts() == 1
    listed = decision(http, headers, 1)
    objection = http.post(
        "/v1/public/objections",
        json={
            "record_id": record["id"],
            "reason": "inaccurate",
            "statement": "记载错误",
            "contact": "13800000000",
        },
    )
    assert objection.status_code == 201, objection.text
    assert make_alerts() == 1
    reviewer = token_for("national.public_security", "cases:review")
    decided = http.post(
        f"/v1/cases/{objection.json()['id']}/decision",
        json={"outcome": "dismissed", "reason": "记载无误"},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    assert make_alerts() == 1
    revoked = http.post(
        f"/v1/records/{record['id']}/revoke",
        json={"reason": "决定被撤销", "decision_no": "公撤字〔2026〕1号"},
        headers=police,
    )
    assert revoked.status_code == 200, revoked.text
    items = alerts(http, headers, watchlist["id"])
    assert [a["event"] for a in items] == [
        "record.created",
        "record.objection_raised",
        "record.objection_decided",
        "record.revoked",
    ]
    assert items[1]["check"]["under_objection"] is True and items[2]["check"]["under_objection"] is False
    assert [(a["decision_before"], a["decision_after"]) for a in (items[0], items[-1])] == [
        ("clear", listed),
        (listed, "clear"),
    ]
    # The feed pages on: after the second alert's cursor come the third and fourth.
    assert [a["id"] for a in alerts(http, headers, watchlist["id"], after=items[1]["cursor"])] == [
        a["id"] for a in items[2:]
    ]


def test_a_rule_change_alerts_only_where_the_decision_changes(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2, 3)
    push(http, police, 1)
    push(http, police, 2, severity="general", external_id="g-2")
    assert make_alerts() == 2
    before = {n: decision(http, headers, n) for n in (1, 2, 3)}
    admin = token_for("national.credit_office", "rules:admin")
    rule = http.post(
        "/v1/admin/rules",
        json={
            "domain": "telecom_fraud",
            "list_type": "black",
            "min_severity": "serious",
            "measure": "credit_reminder",
            "effect": "prohibit",
            "effective_from": "2026-11-22",
            "legal_basis": "《中华人民共和国反电信网络诈骗法》第三十一条",
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    after = {n: decision(http, headers, n) for n in (1, 2, 3)}
    assert after[1] == "prohibit" != before[1] and after[2] == before[2]
    items = alerts(http, headers, watchlist["id"])
    rule_alerts = [a for a in items if a["event"].startswith("rule.")]
    told = [(a["identifier"], a["event"], a["decision_before"], a["decision_after"]) for a in rule_alerts]
    assert told == [(make_uscc(1), "rule.created", before[1], "prohibit")]
    retired = http.delete(f"/v1/admin/rules/{rule.json()['id']}", headers=admin)
    assert retired.status_code == 200, retired.text
    last = alerts(http, headers, watchlist["id"])[-1]
    assert (last["event"], last["decision_before"], last["decision_after"]) == (
        "rule.retired",
        "prohibit",
        before[1],
    )


def test_a_change_that_rolls_back_makes_no_alert(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1)
    bad = record_body(1)
    bad["subject"]["identifier"] = make_uscc(1)
    batch = http.post("/v1/records/batch", json={"records": [bad, {"external_id": "broken"}]}, headers=police)
    assert batch.status_code == 200
    # A request that fails after the change is written stores nothing, alerts included.
    from app.db import session_scope
    from app.records import ingest

    assert batch.json()["created"] == 1
    assert len(alerts(http, headers, watchlist["id"])) == 1

    other = watch(http, headers, 5)
    from app.auth.service import Principal

    try:
        with session_scope() as session:
            principal = Principal("c", "national.public_security", frozenset({"records:write"}))
            outcomes = ingest.ingest(session, principal, [record_body(5)])
            assert outcomes[0].status == "created"
            raise RuntimeError("the request fails after the change")
    except RuntimeError:
        pass
    assert alerts(http, headers, other["id"]) == []
    push(http, police, 5)
    assert len(alerts(http, headers, other["id"])) == 1


def test_owners_bad_identifiers_and_limits(http, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1)
    stranger = approver(token_for, "zaozhuang.taxation")
    for method, path in (
        ("get", ""),
        ("get", "/alerts"),
        ("get", "/deliveries"),
        ("delete", ""),
    ):
        answer = http.request(method.upper(), f"/v1/watchlists/{watchlist['id']}{path}", headers=stranger)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    assert (
        http.post(
            f"/v1/watchlists/{watchlist['id']}/identifiers", json={"add": [make_uscc(2)]}, headers=stranger
        ).status_code
        == 404
    )
    # Another client of the same agency owns it too; another agency lists none of it.
    colleague = approver(token_for)
    assert http.get(f"/v1/watchlists/{watchlist['id']}", headers=colleague).status_code == 200
    assert [w["id"] for w in http.get("/v1/watchlists", headers=colleague).json()] == [watchlist["id"]]
    assert http.get("/v1/watchlists", headers=stranger).json() == []

    wrong = make_uscc(3)[:-1] + ("0" if make_uscc(3)[-1] != "0" else "1")
    answer = http.post(
        "/v1/watchlists",
        json={"name": "x", "action": ACTION, "identifiers": [make_uscc(2), wrong]},
        headers=headers,
    )
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "identifiers[1]"
    answer = http.post(
        f"/v1/watchlists/{watchlist['id']}/identifiers", json={"add": [wrong]}, headers=headers
    )
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "add[0]"
    too_many = http.post(
        "/v1/watchlists",
        json={"name": "x", "action": ACTION, "identifiers": ["x"] * 100_001},
        headers=headers,
    )
    assert too_many.status_code == 422

    changed = http.post(
        f"/v1/watchlists/{watchlist['id']}/identifiers",
        json={"add": [make_uscc(2), make_uscc(1)], "remove": [make_uscc(1)]},
        headers=headers,
    )
    assert changed.json() == {"added": 2, "removed": 1, "identifier_count": 2}
    got = http.get(f"/v1/watchlists/{watchlist['id']}", headers=headers).json()
    assert got["identifiers"] == sorted([make_uscc(1), make_uscc(2)])
    assert http.delete(f"/v1/watchlists/{watchlist['id']}", headers=headers).status_code == 200
    assert http.get(f"/v1/watchlists/{watchlist['id']}", headers=headers).status_code == 404


def test_a_watched_person_is_told_when_an_organisation_behind_which_they_stand_is_listed(http, token_for):
    from tests.records.test_related_parties import BOSS, _debtor

    court = token_for("national.supreme_court", "records:write")
    headers = approver(token_for)
    body = {"name": "高消费审查", "action": "high_consumption", "identifiers": [BOSS]}
    watchlist = http.post("/v1/watchlists", json=body, headers=headers).json()
    record = http.post("/v1/records", json=_debtor(), headers=court)
    assert record.status_code == 201, record.text
    (alert,) = alerts(http, headers, watchlist["id"])
    assert alert["identifier"] == BOSS and alert["record_id"] == record.json()["id"]
    assert (alert["decision_before"], alert["decision_after"]) == ("clear", "prohibit")
    assert alert["check"]["measures"][0]["via_record_ids"] == [record.json()["id"]]


def test_every_watched_identifier_can_be_read_back_page_by_page(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, *range(1, 2502))  # past the 1,000 the watchlist itself shows
    url = f"/v1/watchlists/{watchlist['id']}/identifiers"
    seen: list[dict] = []
    params: dict = {"limit": 1000}
    while True:
        page = http.get(url, params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        if page.json()["next"] is None:
            break
        params["after"] = page.json()["next"]
    assert [item["identifier"] for item in seen] == sorted(make_uscc(n) for n in range(1, 2502))
    assert {item["decision"] for item in seen} == {"clear"}
    # A listing shows as the decision last known once its alert is made.
    push(http, police, 7)
    alerts(http, headers, watchlist["id"])
    (item,) = http.get(url, params={"after": make_uscc(7)[:-1], "limit": 1}, headers=headers).json()["items"]
    assert item["identifier"] == make_uscc(7) and item["decision"] == decision(http, headers, 7) != "clear"
    # Another agency's approver learns nothing of it; a page of 0 or a huge one is refused.
    other = approver(token_for, "national.public_security")
    assert http.get(url, headers=other).status_code == 404
    assert http.get(url, params={"limit": 0}, headers=headers).status_code == 422
    assert http.get(url, params={"limit": 10_001}, headers=headers).status_code == 422
    # Decisions are the government view: the oversight log names who read them.
    auditor = token_for("national.credit_office", "audit:read")
    logged = http.get("/v1/admin/access-log", headers=auditor).json()["items"]
    assert any(entry["what"] == "watchlist_items" for entry in logged)


def test_another_agencys_restricted_record_is_not_named_in_an_alert(http, police, token_for):
    # A check shows another agency's restricted record without its id; its alert must not name it.
    headers = approver(token_for)
    watchlist = watch(http, headers, 5)
    hidden = push(http, police, 5, visibility="restricted")
    (alert,) = alerts(http, headers, watchlist["id"])
    assert alert["decision_after"] != "clear" and alert["record_id"] is None
    assert hidden["id"] not in str(alert)
    revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕5号"}
    assert http.post(f"/v1/records/{hidden['id']}/revoke", json=revoke, headers=police).status_code == 200
    revoked = alerts(http, headers, watchlist["id"])[-1]
    assert revoked["event"] == "record.revoked" and revoked["record_id"] is None
    assert hidden["id"] not in str(revoked)


def test_a_watched_identifier_merged_into_another_follows_its_listings(http, police, token_for):
    # Two codes of one company: the first merged into the second, a check on the first answers as
    # for the second, and so do its alerts when the second is listed.
    headers = approver(token_for)
    admin = token_for("national.market_regulation", "admin")
    push(http, police, 61, list_type="red", severity="general", conduct="诚信经营")
    push(http, police, 62, list_type="red", severity="general", conduct="诚信经营")
    watchlist = watch(http, headers, 61)
    merged = {"from": make_uscc(61), "into": make_uscc(62), "reason": "同一企业"}
    assert http.post("/v1/admin/subjects/merge", json=merged, headers=admin).status_code == 200
    seen = len(alerts(http, headers, watchlist["id"]))
    push(http, police, 63, subject={"identifier": make_uscc(62)})  # a black listing of the survivor
    assert decision(http, headers, 61) != "clear"
    later = alerts(http, headers, watchlist["id"])[seen:]
    assert [(a["identifier"], a["decision_after"]) for a in later] == [
        (make_uscc(61), decision(http, headers, 61))
    ]


def test_oversight_asked_about_a_subject_finds_its_watchlists_decisions_and_their_reads(
    http, police, token_for
):
    # A watchlist is a check made again at every change, pushed to a webhook unread: oversight asked
    # about the subject must find each decision (with whom it was made for) and each page read.
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2)
    record = push(http, police, 1)
    (alert,) = alerts(http, headers, watchlist["id"])
    assert http.get(f"/v1/watchlists/{watchlist['id']}/identifiers", headers=headers).status_code == 200
    auditor = token_for("national.credit_office", "audit:read")
    logged = http.get("/v1/admin/access-log", params={"subject": make_uscc(1)}, headers=auditor).json()
    by_what = {entry["what"]: entry for entry in logged["items"]}
    assert by_what["watchlist_alert"] | {"cursor": None} == {
        "cursor": None,
        "id": alert["id"],
        "at": by_what["watchlist_alert"]["at"],
        "kind": "alert",
        "what": "watchlist_alert",
        "client_id": by_what["watchlist_alert"]["client_id"],
        "agency": APPROVER,
        "action": ACTION,
        "reference": watchlist["id"],
        "subject_id": None,
        "identifier": make_uscc(1),
        "record_id": record["id"],
        "decision": alert["decision_after"],
    }
    for page in ("watchlist_alerts", "watchlist_items"):
        assert by_what[page]["subject_id"] == record["subject"]["id"] and by_what[page]["agency"] == APPROVER
    # Deleting the watchlist does not erase what it decided: each alert stays in the log, as made.
    assert http.delete(f"/v1/watchlists/{watchlist['id']}", headers=headers).status_code == 200
    after = http.get("/v1/admin/access-log", params={"subject": make_uscc(1)}, headers=auditor).json()
    (kept,) = [entry for entry in after["items"] if entry["what"] == "watchlist_alert"]
    assert (kept["at"], kept["action"], kept["reference"], kept["record_id"], kept["agency"]) == (
        by_what["watchlist_alert"]["at"],
        ACTION,
        watchlist["id"],
        record["id"],
        APPROVER,
    )
    assert kept["subject_id"] == record["subject"]["id"] and kept["identifier"] == make_uscc(1)
    # The other identifier watched names no subject the registry knows: its page read is found by the
    # identifier itself, and nothing about the first one is logged for it.
    other = http.get("/v1/admin/access-log", params={"subject": make_uscc(2)}, headers=auditor).json()
    assert [(e["what"], e["identifier"], e["subject_id"]) for e in other["items"]] == [
        ("watchlist_items", make_uscc(2), None)
    ]
