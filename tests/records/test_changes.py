"""Correcting (PATCH with If-Match), revoking, and the change feed other platforms sync from."""

from tests.conftest import COURT, record_body


def _push(http, headers, n=1, **overrides):
    answer = http.post("/v1/records", json=record_body(n, **overrides), headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_patch_with_the_current_version_updates_and_bumps_it(http, police):
    record = _push(http, police)
    answer = http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "更正后的行为描述", "reason": "依申请更正"},
        headers=police | {"If-Match": '"1"'},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["conduct"] == "更正后的行为描述" and answer.json()["version"] == 2
    assert answer.headers["ETag"] == '"2"'
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["version"] == 2


def test_stale_version_is_412_and_changes_nothing(http, police):
    record = _push(http, police)
    http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "第一次更正", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    stale = http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "迟到的更正", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    assert stale.status_code == 412 and stale.json()["error"] == "version_conflict"
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["conduct"] == "第一次更正"


def test_patch_without_if_match_is_428(http, police):
    record = _push(http, police)
    answer = http.patch(
        f"/v1/records/{record['id']}", json={"conduct": "x", "reason": "依申请更正"}, headers=police
    )
    assert answer.status_code == 428


def test_patch_applies_the_rules_again(http, police):
    record = _push(http, police)
    answer = http.patch(
        f"/v1/records/{record['id']}",
        json={
            "publicity_end": "2040-01-01",
            "reason": "依申请更正",
            "correction_decision_no": "更字〔2026〕1号",
        },
        headers=police | {"If-Match": "1"},
    )
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "publicity_end"
    # A new severity brings its own default period.
    general = http.patch(
        f"/v1/records/{record['id']}",
        json={"severity": "general", "reason": "依申请更正", "correction_decision_no": "更字〔2026〕1号"},
        headers=police | {"If-Match": "1"},
    )
    assert general.status_code == 200 and general.json()["publicity_end"] == "2027-11-18"


def test_only_the_designating_agency_changes_or_revokes_a_record(http, police, token_for):
    record = _push(http, police)
    court = token_for(COURT, "records:write", "records:read")
    patch = http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "x", "reason": "依申请更正"},
        headers=court | {"If-Match": "1"},
    )
    revoke = http.post(
        f"/v1/records/{record['id']}/revoke", json={"reason": "x", "decision_no": "y"}, headers=court
    )
    assert patch.status_code == 403 and revoke.status_code == 403
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "active"


def test_revoke_exits_the_record_and_it_cannot_be_corrected_after(http, police):
    record = _push(http, police)
    answer = http.post(
        f"/v1/records/{record['id']}/revoke",
        json={"reason": "原处罚决定被行政复议撤销", "decision_no": "复决字〔2026〕3号"},
        headers=police,
    )
    assert answer.status_code == 200
    revoked = answer.json()
    assert revoked["status"] == "revoked" and revoked["exit_reason"] == "原处罚决定被行政复议撤销"
    assert revoked["version"] == 2 and revoked["exited_at"]
    again = http.post(
        f"/v1/records/{record['id']}/revoke", json={"reason": "x", "decision_no": "y"}, headers=police
    )
    assert again.status_code == 409
    patch = http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "x", "reason": "依申请更正"},
        headers=police | {"If-Match": "2"},
    )
    assert patch.status_code == 409


def test_unknown_record_is_404(http, police):
    assert http.get("/v1/records/00000000-0000-0000-0000-000000000000", headers=police).status_code == 404
    # Only a UUID names a record: anything else is no such resource (and /v1/records/batch, which
    # takes POST, answers a PATCH with 405, not a 422 about a malformed id).
    assert http.get("/v1/records/not-a-uuid", headers=police).status_code == 404
    wrong_method = http.patch("/v1/records/batch", json={"records": []}, headers=police)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"


def test_change_feed_lists_every_change_in_order_with_a_cursor(http, police, token_for):
    first = _push(http, police, 1)
    second = _push(http, police, 2)
    http.patch(
        f"/v1/records/{first['id']}",
        json={"conduct": "更正", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    http.post(
        f"/v1/records/{second['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )
    reader = token_for(COURT, "records:read")
    page = http.get("/v1/changes?limit=3", headers=reader).json()
    assert [(i["event"], i["record_id"]) for i in page["items"]] == [
        ("record.created", first["id"]),
        ("record.created", second["id"]),
        ("record.updated", first["id"]),
    ]
    rest = http.get(f"/v1/changes?after={page['next']}", headers=reader).json()
    assert [(i["event"], i["status"]) for i in rest["items"]] == [("record.revoked", "revoked")]
    empty = http.get(f"/v1/changes?after={rest['next']}", headers=reader).json()
    assert empty["items"] == [] and empty["next"] == rest["next"]


def test_change_feed_needs_records_read(http, police, token_for):
    writer_only = token_for("national.public_security", "records:write")
    assert http.get("/v1/changes", headers=writer_only).status_code == 403
    assert http.get("/v1/changes").status_code == 401


def test_an_agency_lists_its_records_a_page_at_a_time(http, police, token_for):
    for n in range(1, 6):
        _push(http, police, n)
    _push(http, police, 6, visibility="restricted")
    page = http.get("/v1/records?limit=2", headers=police).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    rest = http.get("/v1/records?limit=10&offset=2", headers=police).json()
    ids = {r["id"] for r in page["items"]} | {r["id"] for r in rest["items"]}
    assert len(ids) == 6
    court = token_for(COURT, "records:read")
    assert http.get("/v1/records", headers=court).json()["total"] == 0
    seen_by_court = http.get("/v1/records?agency=national.public_security", headers=court).json()
    assert seen_by_court["total"] == 5  # the restricted one stays with its owner
    assert http.get("/v1/records?status=revoked", headers=police).json()["total"] == 0


def test_a_correction_says_why_and_the_history_shows_before_and_after(http, police):
    record = _push(http, police)
    url = f"/v1/records/{record['id']}"
    no_reason = http.patch(url, json={"conduct": "更正"}, headers=police | {"If-Match": "1"})
    assert no_reason.status_code == 422 and no_reason.json()["fields"][0]["field"] == "reason"
    undecided = http.patch(
        url, json={"severity": "general", "reason": "复议变更"}, headers=police | {"If-Match": "1"}
    )
    assert undecided.status_code == 422
    assert undecided.json()["fields"][0]["field"] == "correction_decision_no"
    answer = http.patch(
        url,
        json={"severity": "general", "reason": "复议变更", "correction_decision_no": "公复字〔2026〕3号"},
        headers=police | {"If-Match": "1"},
    )
    assert answer.status_code == 200, answer.text
    history = http.get(f"{url}/history", headers=police).json()
    change = history[-1]
    assert change["event"] == "record.updated" and change["version"] == 2
    details = change["details"]
    assert details["reason"] == "复议变更" and details["correction_decision_no"] == "公复字〔2026〕3号"
    assert details["changes"]["severity"] == ["serious", "general"]
    assert details["changes"]["publicity_end"] == ["2029-11-18", "2027-11-18"]


def test_corrected_to_a_minor_lapse_a_record_published_by_default_stops_being_published(http, police):
    # 国办发〔2025〕22号: a minor lapse is published only when its agency decides to. A record public
    # because of its severity follows its new one; one the agency chose to share stays shared.
    record = http.post(
        "/v1/records", json=record_body(1, severity="general", notice=None), headers=police
    ).json()
    assert record["visibility"] == "public"
    identifier = record["subject"]["identifier"]
    patched = http.patch(
        f"/v1/records/{record['id']}",
        json={"severity": "minor", "reason": "轻微", "correction_decision_no": "更〔2026〕9号"},
        headers=police | {"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["visibility"] == "shared"
    assert http.get(f"/v1/public/subjects/{identifier}").status_code == 404
    shared = record_body(2, severity="general", visibility="shared")
    chosen = http.post("/v1/records", json=shared, headers=police).json()
    serious = http.patch(
        f"/v1/records/{chosen['id']}",
        json={"severity": "serious", "reason": "加重", "correction_decision_no": "更〔2026〕10号"},
        headers=police | {"If-Match": '"1"'},
    )
    assert serious.json()["visibility"] == "shared"
    # Shared by choice, corrected to minor and back: still shared, never published by the round trip.
    for version, severity in ((2, "minor"), (3, "general")):
        answer = http.patch(
            f"/v1/records/{chosen['id']}",
            json={
                "severity": severity,
                "reason": "更正",
                "correction_decision_no": f"更〔2026〕{version}1号",
            },
            headers=police | {"If-Match": f'"{version}"'},
        )
        assert answer.status_code == 200 and answer.json()["visibility"] == "shared", answer.text
