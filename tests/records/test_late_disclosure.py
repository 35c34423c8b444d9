"""Records received more than 7 working days after the decision are marked late_disclosure."""

from datetime import date

import pytest

from app.kit.clock import china_today
from app.kit.workdays import WorkdayCalendar
from app.records import ingest as service
from app.records.publicity import PublicityRules
from tests.conftest import record_body


def _push(http, police, n, decision_date):
    answer = http.post(
        "/v1/records",
        json=record_body(n, severity="serious", decision_date=decision_date.isoformat()),
        headers=police,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_timely_and_late_pushes_around_the_seventh_working_day(http, police):
    calendar = WorkdayCalendar()
    today = china_today()
    # The latest decision date whose 7th working day is before today is late; one whose 7th working
    # day is today or later is timely.
    late_decision = next(
        d
        for d in (date.fromordinal(today.toordinal() - k) for k in range(8, 30))
        if calendar.add_workdays(d, 7) < today
    )
    timely_decision = date.fromordinal(today.toordinal() - 2)
    assert _push(http, police, 1, late_decision)["late_disclosure"] is True
    assert _push(http, police, 2, timely_decision)["late_disclosure"] is False


def test_national_day_holiday_does_not_count_as_working_days():
    ctx = service.IngestContext(
        agency_code="x",
        actor="x",
        today=date(2026, 11, 1),
        now=None,
        domains=set(),
        agency_domains=set(),  # type: ignore[arg-type]
        court=False,
        calendar=WorkdayCalendar(),
        publicity=PublicityRules(),
    )
    # Decided Monday 2026-09-28: working days after it are 29, 30 Sep, then 1-7 Oct are holidays,
    # so the seventh working day falls well after 2026-10-07.
    assert service._late_disclosure(ctx, date(2026, 9, 28), date(2026, 10, 8)) == (False, None)
    assert service._late_disclosure(ctx, date(2026, 9, 28), date(2026, 10, 30)) == (True, None)


def test_an_administrator_holiday_moves_the_deadline(http, police, token_for):
    admin = token_for("national.credit_office", "admin")
    today = china_today()
    calendar = WorkdayCalendar()
    # A decision whose 7th working day is already past but whose 8th is today or later.
    decision = next(
        d
        for d in (date.fromordinal(today.toordinal() - k) for k in range(9, 40))
        if calendar.add_workdays(d, 7) < today <= calendar.add_workdays(d, 8)
    )
    assert _push(http, police, 1, decision)["late_disclosure"] is True
    # Declaring one working day in between a holiday pushes the 7th working day to today or later.
    first_workday = calendar.add_workdays(decision, 1)
    answer = http.post(
        "/v1/admin/holidays",
        json={"date": first_workday.isoformat(), "workday": False, "note": "test"},
        headers=admin,
    )
    assert answer.status_code == 201
    assert _push(http, police, 2, decision)["late_disclosure"] is False
    listed = http.get("/v1/admin/holidays", headers=admin).json()
    assert listed == [
        {"date": first_workday.isoformat(), "workday": False, "note": "test", "source": "administrator"}
    ]


def test_a_decision_outside_the_known_calendar_is_said_plainly(http, police):
    answer = http.post(
        "/v1/records", json=record_body(3, severity="general", decision_date="2003-06-02"), headers=police
    )
    assert answer.status_code == 201
    record = answer.json()
    assert record["late_disclosure"] is None
    assert "2003" in record["calendar_note"]


@pytest.mark.parametrize("scopes", [("records:write",), ("rules:admin",)])
def test_holidays_need_the_admin_scope(http, token_for, scopes):
    headers = token_for("national.credit_office", *scopes)
    assert (
        http.post(
            "/v1/admin/holidays", json={"date": "2027-01-01", "workday": False}, headers=headers
        ).status_code
        == 403
    )
