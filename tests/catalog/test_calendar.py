"""The working-day calendar never runs out silently: a year's official schedule is loaded as a whole
(`registry calendar load`, `POST /v1/admin/calendar`), `GET /v1/calendar` says how far it is known,
and a statutory holiday becomes a working day only when the administrator confirms it."""

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.catalog import service as catalog
from app.catalog.models import CalendarOverride, CalendarYear
from app.cli import cli
from app.db import session_scope
from app.kit.workdays import package_years
from tests.conftest import record_body

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "calendar-2027.example.csv"
HEADER = "# 2027\ndate,workday,note\n"

# The sample is for 2027, the first year chinesecalendar 1.11.0 does not know; a newer package that
# knows 2027 leaves nothing to load.
pytestmark = pytest.mark.skipif(2027 in package_years(), reason="the package already knows 2027")


def _load(path: Path, *options: str):
    return CliRunner().invoke(cli, ["calendar", "load", str(path), *options])


def _stored() -> tuple[int, int]:
    with session_scope(writing=False) as session:
        return (
            session.scalar(select(func.count()).select_from(CalendarYear)),
            session.scalar(select(func.count()).select_from(CalendarOverride)),
        )


def _audited(action: str) -> list[dict]:
    with session_scope(writing=False) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        return [json.loads(row.payload) for row in rows]


def test_loading_the_sample_makes_2027_deadlines_computable(http, clock):
    clock("2026-12-06T10:00")
    before = http.get("/v1/calendar").json()  # public: no token
    assert before["known_until"] == "2026-12-31"
    assert before["days_known_ahead"] == 25
    assert before["loaded_years"] == [] and before["overrides"] == []

    result = _load(SAMPLE, "--source", "format example")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"year": 2027, "days": 34, "replaced": 0, "known_until": "2027-12-31"}

    after = http.get("/v1/calendar").json()
    assert after["known_until"] == "2027-12-31"
    assert after["days_known_ahead"] == 390
    assert [(y["year"], y["source"], y["days"]) for y in after["loaded_years"]] == [
        (2027, "format example", 34)
    ]
    assert {"date": "2027-10-01", "workday": False, "note": "国庆节", "source": "administrator"} in after[
        "overrides"
    ]
    with session_scope(writing=False) as session:
        # Thursday 28 January + 10 working days across the Spring Festival (5-13 February off, Sunday
        # 31 January and Saturday 20 February working), as the file says.
        assert catalog.workday_calendar(session).add_workdays(date(2027, 1, 28), 10) == date(2027, 2, 18)
    [event] = _audited("calendar.year_loaded")
    assert event["source"] == "format example" and len(event["days"]) == 34 and event["replaced"] == []


def test_a_2027_record_is_timed_once_the_year_is_loaded(http, police, clock):
    # Decided Thursday 28 January 2027, received Friday 12 February: inside the Spring Festival, so
    # within 7 working days by the schedule (deadline 15 February), late by the ordinary week alone.
    clock("2027-02-12T10:00")
    body = record_body(1, decision_date="2027-01-28")
    unknown = http.post("/v1/records", json=body, headers=police).json()
    assert unknown["late_disclosure"] is None
    assert "2027" in unknown["calendar_note"] and "an administrator must enter" in unknown["calendar_note"]

    assert _load(SAMPLE).exit_code == 0
    timed = http.post("/v1/records", json=record_body(2, decision_date="2027-01-28"), headers=police).json()
    assert timed["late_disclosure"] is False and timed["calendar_note"] is None


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("2027-01-01,false,元旦\n2027-02-30,false,春节\n", "line 4: '2027-02-30' is not a date (YYYY-MM-DD)"),
        ("2027-01-01,false,元旦\n2027/02/06,false,春节\n", "line 4: '2027/02/06' is not a date"),
        ("2027-01-01,false,元旦\n2027-W05-1,false,春节\n", "line 4: '2027-W05-1' is not a date"),
        (
            "2027-02-06,false,春节\n2027-02-07,false,春节\n\n2027-02-06,true,调休\n",
            "line 6: 2027-02-06 is listed twice (first on line 3)",
        ),
        ("2027-01-01,no,元旦\n", "line 3: workday must be true or false, not 'no'"),
        ("2027-12-31,false,\n2028-01-01,false,元旦\n", "line 4: 2028-01-01 is not in 2027"),
        ("2027-01-01,false,元旦,extra\n", "line 3: expected date,workday,note, got 4 fields"),
        ("9999-01-01,false,元旦\n", "line 3: 9999-01-01 is outside 1949-10-01..2099-12-31"),
        (
            "2027-01-01,false,元旦\x1b[2J\n",
            "line 3: the note: must not contain control characters (found U+001B)",
        ),
        ('2027-01-01,false,元旦\n2027-01-02,false,"unterminated\n', "line 4: not a CSV line"),
        (f"2027-01-01,false,{'注' * 140_000}\n", "line 3: not a CSV line"),
    ],
)
def test_a_bad_file_exits_2_naming_the_line_and_loads_nothing(tmp_path, lines, expected):
    path = tmp_path / "2027.csv"
    path.write_text(HEADER + lines, encoding="utf-8")
    result = _load(path)
    assert result.exit_code == 2
    assert expected in result.stderr and "nothing was loaded" in result.stderr
    assert result.stderr.count("\n") == 1  # one sentence
    assert _stored() == (0, 0)


def test_a_file_without_the_header_is_refused(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("2027-01-01,false,元旦\n", encoding="utf-8")
    result = _load(path)
    assert result.exit_code == 2 and "line 1: the header must be date,workday,note" in result.stderr
    assert _stored() == (0, 0)


def test_loading_again_replaces_the_year(tmp_path, http):
    assert _load(SAMPLE).exit_code == 0
    corrected = tmp_path / "2027-corrected.csv"
    corrected.write_text(
        HEADER + "2027-01-01,false,元旦\n2027-06-10,false,端午节（更正）\n", encoding="utf-8"
    )
    result = _load(corrected)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replaced"] == 34
    overrides = http.get("/v1/calendar").json()["overrides"]
    assert [o["date"] for o in overrides] == ["2027-01-01", "2027-06-10"]
    assert _stored() == (1, 2)


def test_a_schedule_turning_a_statutory_holiday_into_a_working_day_needs_force(tmp_path):
    path = tmp_path / "2026.csv"
    path.write_text(
        HEADER.replace("2027", "2026") + "2026-10-08,false,\n2026-10-01,true,\n", encoding="utf-8"
    )
    result = _load(path)
    assert result.exit_code == 2
    assert "line 4: 2026-10-01 is National Day (国庆节), a statutory holiday" in result.stderr
    assert _stored() == (0, 0)
    assert _load(path, "--force").exit_code == 0
    assert _stored() == (1, 2)


def test_administrators_load_a_schedule_over_the_api(http, token_for):
    admin = token_for("national.credit_office", "admin")
    rules_admin = token_for("national.credit_office", "rules:admin")
    content = SAMPLE.read_text(encoding="utf-8")
    assert http.post("/v1/admin/calendar", json={"content": content}, headers=rules_admin).status_code == 403

    bad = content.replace("2027-05-08,true", "2027-05-32,true")
    refused = http.post("/v1/admin/calendar", json={"content": bad}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_schedule"
    line = content.splitlines().index("2027-05-08,true,劳动节调休上班") + 1
    assert refused.json()["detail"].startswith(f"line {line}: '2027-05-32' is not a date")
    assert refused.json()["line"] == line
    assert _stored() == (0, 0)

    loaded = http.post("/v1/admin/calendar", json={"content": content, "source": "示例"}, headers=admin)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json() == {"year": 2027, "days": 34, "replaced": 0, "known_until": "2027-12-31"}
    assert http.get("/v1/calendar").json()["known_until"] == "2027-12-31"


def test_national_day_becomes_a_working_day_only_with_force(http, token_for):
    admin = token_for("national.credit_office", "admin")
    national_day = {"date": "2026-10-01", "workday": True, "note": "local adjustment"}
    refused = http.post("/v1/admin/holidays", json=national_day, headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"] == "confirmation_required"
    assert refused.json()["holiday"] == "National Day (国庆节)"
    assert "2026-10-01 is National Day (国庆节), a statutory holiday" in refused.json()["detail"]
    assert '"force": true' in refused.json()["detail"]
    assert http.get("/v1/admin/holidays", headers=admin).json() == []
    assert _audited("calendar.day_set") == []

    forced = http.post("/v1/admin/holidays", json=national_day | {"force": True}, headers=admin)
    assert forced.status_code == 201
    assert forced.json() == {
        "date": "2026-10-01",
        "workday": True,
        "note": "local adjustment",
        "source": "administrator",
    }
    assert _audited("calendar.day_set") == [
        {"workday": True, "note": "local adjustment", "forced_over": "National Day (国庆节)"}
    ]
    with session_scope(writing=False) as session:
        assert catalog.workday_calendar(session).add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 1)


def test_days_needing_no_confirmation(http, token_for):
    admin = token_for("national.credit_office", "admin")
    for day in (
        {"date": "2026-10-10", "workday": False},  # a make-up working day made a day off
        {"date": "2026-10-17", "workday": True},  # an ordinary Saturday made a working day
        {"date": "2026-10-02", "workday": False},  # a holiday stays a holiday
    ):
        assert http.post("/v1/admin/holidays", json=day, headers=admin).status_code == 201, day


def test_a_loaded_schedules_holiday_also_needs_force(http, token_for):
    admin = token_for("national.credit_office", "admin")
    assert _load(SAMPLE).exit_code == 0
    day = {"date": "2027-10-01", "workday": True}
    refused = http.post("/v1/admin/holidays", json=day, headers=admin)
    assert refused.status_code == 409 and "国庆节" in refused.json()["detail"]
    assert http.post("/v1/admin/holidays", json=day | {"force": True}, headers=admin).status_code == 201


def test_one_day_of_a_year_not_loaded_is_refused(http, token_for):
    admin = token_for("national.credit_office", "admin")
    refused = http.post("/v1/admin/holidays", json={"date": "2027-01-01", "workday": False}, headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"] == "calendar_year_unknown"
    assert "load that year's whole schedule first" in refused.json()["detail"]
    assert _stored() == (0, 0)


def test_the_holiday_confirmation_is_in_the_openapi_document(http):
    operations = http.get("/openapi.json").json()["paths"]
    assert "409" in operations["/v1/admin/holidays"]["post"]["responses"]
    assert {"409", "422"} <= set(operations["/v1/admin/calendar"]["post"]["responses"])
    assert "force" in operations["/v1/admin/holidays"]["post"]["description"]
