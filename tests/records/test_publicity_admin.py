"""Administrators set publicity periods per domain; new pushes and repairs follow them."""

from tests.conftest import record_body


def test_defaults_are_listed_with_their_source(http, token_for):
    admin = token_for("national.credit_office", "admin")
    table = http.get("/v1/admin/publicity", headers=admin).json()
    assert len(table) == 19 * 3
    general = next(r for r in table if r["domain"] == "telecom_fraud" and r["severity"] == "general")
    assert (general["shortest_months"], general["default_months"], general["longest_months"]) == (3, 12, 12)
    court = next(r for r in table if r["domain"] == "court_judgments" and r["severity"] == "general")
    assert (court["default_months"], court["longest_months"], court["source"]) == (24, 60, "default")


def test_an_override_changes_the_default_and_the_bounds(http, police, token_for):
    admin = token_for("national.credit_office", "admin")
    policy = {"shortest_months": 6, "default_months": 18, "longest_months": 24, "repair_after_months": 6}
    answer = http.put("/v1/admin/publicity/telecom_fraud/general", json=policy, headers=admin)
    assert answer.status_code == 200 and answer.json()["source"] == "administrator"
    record = http.post("/v1/records", json=record_body(1, severity="general"), headers=police).json()
    assert record["publicity_end"] == "2028-05-18"
    too_short = http.post(
        "/v1/records", json=record_body(2, severity="general", publicity_end="2027-02-18"), headers=police
    )
    assert too_short.status_code == 422
    reset = http.delete("/v1/admin/publicity/telecom_fraud/general", headers=admin)
    assert reset.json()["source"] == "default"
    assert (
        http.post("/v1/records", json=record_body(3, severity="general"), headers=police).json()[
            "publicity_end"
        ]
        == "2027-11-18"
    )


def test_inconsistent_periods_and_unknown_domains_are_refused(http, token_for):
    admin = token_for("national.credit_office", "admin")
    bad = {"shortest_months": 12, "default_months": 6, "longest_months": 24, "repair_after_months": 0}
    assert http.put("/v1/admin/publicity/telecom_fraud/general", json=bad, headers=admin).status_code == 422
    good = {"shortest_months": 1, "default_months": 6, "longest_months": 24, "repair_after_months": 0}
    assert http.put("/v1/admin/publicity/nowhere/general", json=good, headers=admin).status_code == 404
    assert http.put("/v1/admin/publicity/telecom_fraud/huge", json=good, headers=admin).status_code == 422
    writer = token_for("national.public_security", "records:write")
    assert http.put("/v1/admin/publicity/telecom_fraud/general", json=good, headers=writer).status_code == 403


def test_a_retry_is_the_same_push_after_the_default_period_changed(http, police, token_for):
    # The agency sent no end date: the registry derived one. An administrator's new default later
    # changes what it would derive, not what the agency sent: the retry is recognized (API.md: same
    # body → 200), the record keeps its end, and a changed body is still a conflict.
    admin = token_for("national.credit_office", "admin")
    body = record_body(4, severity="general")
    first = http.post("/v1/records", json=body, headers=police)
    assert first.status_code == 201 and first.json()["publicity_end"] == "2027-11-18"
    policy = {"shortest_months": 6, "default_months": 9, "longest_months": 12, "repair_after_months": 6}
    assert (
        http.put("/v1/admin/publicity/telecom_fraud/general", json=policy, headers=admin).status_code == 200
    )
    again = http.post("/v1/records", json=body, headers=police)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    assert again.json()["publicity_end"] == "2027-11-18"
    batch = http.post("/v1/records/batch", json={"records": [body]}, headers=police).json()
    assert batch["results"][0]["status"] == "unchanged"
    changed = http.post("/v1/records", json=body | {"conduct": "另一行为"}, headers=police)
    assert changed.status_code == 409
