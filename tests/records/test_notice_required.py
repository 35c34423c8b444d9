"""A serious black listing needs a notice the subject was served before it (国办发〔2020〕49号 (八);
issue 15): pushed without one it is refused with notice_required; court listings follow the court's
own procedure."""

import json

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.db import session_scope
from app.models import AuditEntry
from tests.conftest import COURT, POLICE, record_body

# The suite day is Sunday 2026-11-22. A notice served on Monday 2026-11-16 leaves the subject until
# Monday 2026-11-23 (five working days); one served on Friday 2026-11-13, until Friday 2026-11-20.


def _served(n, served_on, **overrides):
    return record_body(n, notice={"document_no": f"告知〔2026〕{n}号", "served_on": served_on}, **overrides)


def test_a_serious_black_push_without_a_notice_is_refused(http, police):
    answer = http.post("/v1/records", json=record_body(1, notice=None), headers=police)
    assert answer.status_code == 422 and answer.json()["error"] == "notice_required"
    assert "POST /v1/notices" in answer.json()["detail"] and "served_on" in answer.json()["detail"]
    assert http.get("/v1/records", headers=police).json()["total"] == 0


def test_the_notice_must_be_served_the_statement_period_before_the_decision(http, police):
    # The subject is heard before the listing is decided (国办发〔2020〕49号 (八)): the decision, not
    # only the push, comes after the statement period.
    too_recent = http.post(
        "/v1/records", json=_served(2, "2026-11-16", decision_date="2026-11-21"), headers=police
    )
    assert too_recent.status_code == 422 and too_recent.json()["error"] == "notice_required"
    assert too_recent.json()["statement_period_ends"] == "2026-11-23"
    assert "2026-11-24" in too_recent.json()["detail"]
    decided_early = http.post(
        "/v1/records", json=_served(10, "2026-11-13", decision_date="2026-11-16"), headers=police
    )
    assert decided_early.status_code == 422 and decided_early.json()["statement_period_ends"] == "2026-11-20"
    # A weekend in between counts no working days: served on Saturday, the period ends on Friday.
    for n, served_on in ((3, "2026-11-13"), (4, "2026-11-14"), (5, "2026-11-15")):
        answer = http.post(
            "/v1/records", json=_served(n, served_on, decision_date="2026-11-21"), headers=police
        )
        assert answer.status_code == 201, (served_on, answer.text)


def test_the_attested_notice_is_stored_and_shown_with_the_record(http, police):
    record = http.post("/v1/records", json=_served(6, "2026-11-09"), headers=police).json()
    assert record["notice"] == {"document_no": "告知〔2026〕6号", "served_on": "2026-11-09"}
    assert record["notice_id"] is None
    assert http.get(f"/v1/records/{record['id']}", headers=police).json()["notice"] == record["notice"]
    # The audit log holds it with the record, so that a row changed behind the registry's back shows.
    with session_scope() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == record["id"])).one()
    assert json.loads(entry.payload)["notice_document_no"] == "告知〔2026〕6号"


def test_a_notice_served_after_the_decision_did_not_precede_it(http, police):
    # 国办发〔2020〕49号 (八): the subject is told before the decision to list, not after it.
    late = _served(11, "2026-11-13", decision_date="2026-11-12")
    answer = http.post("/v1/records", json=late, headers=police)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "notice.served_on"
    assert "2026-11-12" in answer.json()["detail"]


def test_a_notice_served_in_the_future_names_its_field(http, police):
    answer = http.post("/v1/records", json=_served(7, "2026-11-23"), headers=police)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "notice.served_on"


def test_other_listings_need_no_notice(http, police, token_for):
    general = http.post("/v1/records", json=record_body(8, notice=None, severity="general"), headers=police)
    assert general.status_code == 201, general.text
    red = record_body(9, notice=None, list_type="red", conduct="诚信经营", severity="general")
    assert http.post("/v1/records", json=red, headers=police).status_code == 201
    court = token_for(COURT, "records:write")
    listing = record_body(10, notice=None, domain="court_judgments", listing_basis="evades_enforcement")
    assert http.post("/v1/records", json=listing, headers=court).status_code == 201


def test_in_a_batch_only_the_item_without_a_notice_is_refused(http, police):
    items = [record_body(11), record_body(12, notice=None), _served(13, "2026-11-18")]
    answer = http.post("/v1/records/batch", json={"records": items}, headers=police).json()
    assert (answer["created"], answer["errors"]) == (1, 2)
    assert [r["status"] for r in answer["results"]] == ["created", "error", "error"]
    assert answer["results"][1]["error"] == answer["results"][2]["error"] == "notice_required"


def test_without_the_calendar_an_old_notice_still_counts_and_a_recent_one_is_refused(http, police, clock):
    clock("2027-03-01T10:00")  # 2027 is beyond the statutory calendar the package knows
    old = _served(14, "2027-01-20", decision_date="2027-02-26")
    assert http.post("/v1/records", json=old, headers=police).status_code == 201
    recent = http.post(
        "/v1/records", json=_served(15, "2027-02-22", decision_date="2027-02-26"), headers=police
    )
    assert recent.status_code == 422 and recent.json()["error"] == "notice_required"
    assert "2027" in recent.json()["detail"] and "calendar" in recent.json()["detail"]


def test_the_import_refuses_the_line_without_a_notice(tmp_path):
    path = tmp_path / "records.ndjson"
    lines = [record_body(16), record_body(17, notice=None)]
    path.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["records", "import", str(path), "--agency", POLICE])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["created"], summary["refused"]) == (1, 1)
    assert summary["refused_by_reason"] == {"notice_required": 1}
    assert [r["line"] for r in summary["refused_lines"]] == [2]


def test_the_csv_export_carries_the_notice_and_imports_back(tmp_path, http, police):
    http.post("/v1/records", json=record_body(18), headers=police)
    exported = tmp_path / "out.csv"
    CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", POLICE])
    text = exported.read_text(encoding="utf-8-sig")
    assert "notice_document_no" in text and "公(反诈)告字〔2026〕18号" in text and "2026-11-09" in text
    back = CliRunner().invoke(cli, ["records", "import", str(exported), "--agency", POLICE])
    assert json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 1
