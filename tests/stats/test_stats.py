"""Evaluation statistics for administrators and lead units."""

import csv
import io

from tests.conftest import make_uscc, record_body


def _seed(http, police):
    for n in range(1, 4):
        assert http.post("/v1/records", json=record_body(n), headers=police).status_code == 201
    late = record_body(4, decision_date="2026-09-01", severity="serious")
    assert http.post("/v1/records", json=late, headers=police).json()["late_disclosure"] is True
    first = http.post("/v1/records", json=record_body(5), headers=police).json()
    http.post(
        f"/v1/records/{first['id']}/revoke", json={"reason": "撤销", "decision_no": "d"}, headers=police
    )
    objection = {"record_id": first["id"], "reason": "other", "statement": "s", "contact": "c"}
    return objection


def test_admin_sees_counts_per_domain_and_agency(http, police, token_for):
    _seed(http, police)
    admin = token_for("national.credit_office", "admin")
    report = http.get("/v1/stats", headers=admin).json()
    (row,) = [r for r in report["rows"] if r["domain"] == "telecom_fraud"]
    assert row["agency"] == "national.public_security"
    assert row["listed"] == 5 and row["late_disclosures"] == 1
    assert row["exited"]["revoked"] == 1
    assert report["totals"]["listed"] == 5


def test_csv_has_one_line_per_domain_and_agency(http, police, token_for):
    _seed(http, police)
    admin = token_for("national.credit_office", "admin")
    answer = http.get("/v1/stats?format=csv", headers=admin)
    assert answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    header, body = lines[0], lines[1:]
    assert header[:4] == ["domain", "agency", "listed", "late_disclosures"]
    assert body[0][:4] == ["telecom_fraud", "national.public_security", "5", "1"]


def test_lead_units_see_their_domains_and_others_are_refused(http, police, token_for):
    _seed(http, police)
    lead = token_for("national.public_security", "records:read")  # 公安部 leads telecom fraud
    rows = http.get("/v1/stats", headers=lead).json()["rows"]
    assert {r["domain"] for r in rows} == {"telecom_fraud"}
    participant_only = token_for("national.customs", "records:read")  # 海关总署 leads no domain
    answer = http.get("/v1/stats", headers=participant_only)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert http.get("/v1/stats").status_code == 401


def test_a_city_lead_unit_reads_its_own_city_s_figures_only(http, police, token_for):
    # 枣庄市公安局 leads telecom fraud in the city's plan: it oversees its city's agencies, not the
    # national ministry's listings.
    _seed(http, police)
    city_police = token_for("zaozhuang.public_security", "records:write", "records:read")
    city = record_body(9, subject={"identifier": make_uscc(9, prefix="91370400")})
    assert http.post("/v1/records", json=city, headers=city_police).status_code == 201
    rows = http.get("/v1/stats", headers=city_police).json()["rows"]
    assert [(r["domain"], r["agency"], r["listed"]) for r in rows] == [
        ("telecom_fraud", "zaozhuang.public_security", 1)
    ]
    national = token_for("national.public_security", "records:read")
    agencies = {r["agency"] for r in http.get("/v1/stats", headers=national).json()["rows"]}
    assert agencies == {"national.public_security", "zaozhuang.public_security"}


def test_period_and_plan_filters(http, police, token_for):
    _seed(http, police)
    admin = token_for("national.credit_office", "admin")
    assert http.get("/v1/stats?from=2020-01-01&to=2020-12-31", headers=admin).json()["rows"] == []
    assert http.get("/v1/stats?from=2026-12-01&to=2026-01-01", headers=admin).status_code == 422
    unknown = http.get("/v1/stats?plan=no-such-plan", headers=admin)
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "plan"
    national = http.get("/v1/stats?plan=wenmingwei-2020-6", headers=admin).json()
    assert national["totals"]["listed"] == 5


def test_checks_are_counted_by_decision_per_domain_and_approver(http, police, token_for):
    _seed(http, police)
    approver = token_for("national.market_regulation", "checks:write")
    admin = token_for("national.credit_office", "admin")
    for n, action in ((1, "administrative_license"), (2, "financing"), (99, "financing")):
        body = {"subject": {"identifier": record_body(n)["subject"]["identifier"]}, "action": action}
        assert http.post("/v1/checks", json=body, headers=approver).status_code == 200
    report = http.get("/v1/stats", headers=admin).json()
    (row,) = [
        r
        for r in report["rows"]
        if (r["domain"], r["agency"]) == ("telecom_fraud", "national.market_regulation")
    ]
    assert row["checks"]["restrict"] == 2 and row["checks"]["clear"] == 0
    (unknown,) = [r for r in report["rows"] if r["domain"] == ""]
    assert unknown["checks"]["clear"] == 1
    assert report["totals"]["checks"]["restrict"] == 2
