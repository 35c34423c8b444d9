"""The government view "as of" a past day, and expiry by the calendar alone."""

from tests.conftest import POLICE, TAX, make_uscc, record_body


def _view(http, headers, as_of=None):
    query = f"?as_of={as_of}" if as_of else ""
    answer = http.get(f"/v1/subjects/{make_uscc(1)}{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [(r["status"], r["conduct"]) for r in answer.json()["records"]]


def test_as_of_answers_as_the_registry_stood_that_day(http, police, clock):
    clock("2026-11-18T10:00")
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    clock("2026-11-19T09:00")
    http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "更正后", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    clock("2026-11-21T16:00")
    http.post(
        f"/v1/records/{record['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )

    assert _view(http, police, "2026-11-17") == []
    assert _view(http, police, "2026-11-18") == [("active", "为电信网络诈骗提供支付结算帮助")]
    assert _view(http, police, "2026-11-20") == [("active", "更正后")]
    assert _view(http, police, "2026-11-21") == [("revoked", "更正后")]
    assert _view(http, police) == [("revoked", "更正后")]


def test_a_record_past_its_publicity_end_has_exited_without_any_job(http, police, clock):
    clock("2026-11-18T10:00")
    body = record_body(1, severity="general", publicity_end="2027-02-18")
    record = http.post("/v1/records", json=body, headers=police).json()
    assert record["status"] == "active"
    clock("2027-02-19T08:00")  # (a view as of a day still to come is refused, as a check is)
    assert _view(http, police, "2027-02-18") == [("active", body["conduct"])]
    assert _view(http, police, "2027-02-19") == [("expired", body["conduct"])]
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "expired"


def test_an_exited_record_stops_being_shared_with_other_agencies_at_once(http, police, token_for, clock):
    # DOMAIN.md: repair means stop publishing, stop sharing; an exited record leaves every sharing
    # view at once, and still answers "as of" a day it was in force.
    other = token_for(TAX, "records:read")
    clock("2026-11-18T10:00")
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    assert _view(http, other) == [("active", record_body(1)["conduct"])]
    clock("2026-11-20T10:00")
    revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕9号"}
    assert http.post(f"/v1/records/{record['id']}/revoke", json=revoke, headers=police).status_code == 200
    assert http.get(f"/v1/subjects/{make_uscc(1)}", headers=other).status_code == 404
    assert http.get(f"/v1/records/{record['id']}", headers=other).status_code == 404
    listed = http.get(f"/v1/records?agency={POLICE}&status=revoked", headers=other).json()
    assert listed["total"] == 0
    assert _view(http, other, "2026-11-19") == [("active", record_body(1)["conduct"])]
    # Its own agency keeps it, exited.
    assert _view(http, police) == [("revoked", record_body(1)["conduct"])]
