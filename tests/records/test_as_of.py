"""The government view "as of" a past day, and expiry by the calendar alone."""

from tests.conftest import make_uscc, record_body


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
    assert _view(http, police, "2027-02-18") == [("active", body["conduct"])]
    assert _view(http, police, "2027-02-19") == [("expired", body["conduct"])]
    clock("2027-02-19T08:00")
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["status"] == "expired"
