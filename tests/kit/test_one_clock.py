"""One "today" for the whole registry: China's, on the registry clock, whatever the host's time zone."""

from datetime import date

from tests.conftest import make_resident_id, record_body


def _person(born: date) -> dict[str, str]:
    return {
        "kind": "natural_person",
        "identifier_type": "resident_id",
        "name": "王五",
        "identifier": make_resident_id(born),
    }


def test_birth_date_and_decision_date_are_checked_against_the_same_china_day(http, police, clock):
    clock("2026-11-22T07:00")  # 2026-11-21T23:00 UTC: the UTC (and host) day is the day before
    born_today = record_body(
        1, subject=_person(date(2026, 11, 22)), list_type="red", decision_date="2026-11-22"
    )
    accepted = http.post("/v1/records", json=born_today, headers=police)
    assert accepted.status_code == 201, accepted.text

    born_tomorrow = record_body(
        2, subject=_person(date(2026, 11, 23)), list_type="red", decision_date="2026-11-22"
    )
    refused = http.post("/v1/records", json=born_tomorrow, headers=police)
    assert refused.status_code == 422
    [birth] = refused.json()["fields"]
    assert birth["field"] == "subject.identifier"
    assert birth["detail"].endswith("birth date 20261123 is in the future (today is 2026-11-22)")

    decided_tomorrow = record_body(3, list_type="red", decision_date="2026-11-23")
    refused = http.post("/v1/records", json=decided_tomorrow, headers=police)
    assert refused.status_code == 422
    assert refused.json()["fields"] == [
        {"field": "decision_date", "detail": "2026-11-23 is in the future (today is 2026-11-22)"}
    ]
