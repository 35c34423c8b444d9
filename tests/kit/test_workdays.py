"""The working-day calendar: chinesecalendar's statutory holidays and make-up days (调休) plus overrides."""

from datetime import date, timedelta

import chinese_calendar
import pytest

from app.kit.workdays import CalendarUnknown, WorkdayCalendar, known_until, package_years, statutory_holiday

# The first year the installed package does not know (2027 with chinesecalendar 1.11.0). Derived, not
# hard-coded, so the tests keep meaning "a year nobody entered" when a newer package adds 2027.
UNKNOWN_YEAR = max(package_years()) + 1


def _first_weekday(year: int, weekday: int) -> date:
    day = date(year, 1, 1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def calendar() -> WorkdayCalendar:
    return WorkdayCalendar()


def test_known_years_come_from_the_package_tables(calendar: WorkdayCalendar) -> None:
    tables = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    assert calendar.known_years() == sorted(tables)
    assert calendar.known_years()[0] == 2004
    assert 2026 in calendar.known_years()
    assert calendar.known_years() == list(range(2004, UNKNOWN_YEAR))


def test_2026_national_day(calendar: WorkdayCalendar) -> None:
    # Per the package (State Council notice on the 2026 holidays): 1–7 October 2026 off; Sunday
    # 20 September and Saturday 10 October are the make-up working days listed under national_day.
    for offset in range(7):
        day = date(2026, 10, 1) + timedelta(days=offset)
        assert day in chinese_calendar.holidays
        assert not calendar.is_workday(day)
    assert {d for d in chinese_calendar.workdays if d.year == 2026 and d.month in (9, 10)} == {
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert calendar.is_workday(date(2026, 9, 30))  # Wednesday before the holiday
    assert calendar.is_workday(date(2026, 10, 8))  # Thursday after it


def test_make_up_weekend_days_are_working_days(calendar: WorkdayCalendar) -> None:
    assert date(2026, 10, 10).weekday() == 5  # Saturday
    assert calendar.is_workday(date(2026, 10, 10))
    assert date(2026, 9, 20).weekday() == 6  # Sunday
    assert calendar.is_workday(date(2026, 9, 20))
    assert not calendar.is_workday(date(2026, 10, 17))  # an ordinary Saturday
    assert not calendar.is_workday(date(2026, 10, 11))  # the Sunday after the make-up Saturday


def test_agrees_with_the_package_every_day(calendar: WorkdayCalendar) -> None:
    day = date(2004, 1, 1)
    while day.year < UNKNOWN_YEAR:
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_add_workdays_across_national_day(calendar: WorkdayCalendar) -> None:
    assert calendar.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the make-up Saturday
    assert calendar.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)
    # Decision on Monday 28 September: 29, 30 Sep, 8, 9, 10, 12, 13 Oct -> 7th working day is 13 October.
    assert calendar.add_workdays(date(2026, 9, 28), 7) == date(2026, 10, 13)
    # Starting on a holiday counts from the next working day.
    assert calendar.add_workdays(date(2026, 10, 3), 1) == date(2026, 10, 8)


def test_add_workdays_ordinary_week(calendar: WorkdayCalendar) -> None:
    assert calendar.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    assert calendar.add_workdays(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday
    assert calendar.add_workdays(date(2026, 3, 2), 10) == date(2026, 3, 16)


def test_add_workdays_across_a_year_boundary(calendar: WorkdayCalendar) -> None:
    # 2025-12-31 (Wed) -> 2026-01-01..03 off, Sunday 4 January is a make-up working day.
    assert calendar.add_workdays(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert calendar.add_workdays(date(2025, 12, 30), 2) == date(2026, 1, 4)


def test_add_workdays_requires_positive_n(calendar: WorkdayCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.add_workdays(date(2026, 3, 2), 0)


def test_workdays_between(calendar: WorkdayCalendar) -> None:
    # 8, 9, 10 (make-up Saturday), 12 October.
    assert calendar.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert calendar.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert calendar.workdays_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert calendar.workdays_between(date(2026, 3, 9), date(2026, 3, 2)) == 0
    assert calendar.workdays_between(date(2025, 12, 30), date(2026, 1, 5)) == 3  # 31 Dec, 4 Jan, 5 Jan


def test_between_and_add_are_inverse(calendar: WorkdayCalendar) -> None:
    start = date(2025, 12, 1)
    for offset in range(0, 400, 7):
        day = start + timedelta(days=offset)
        if day.year >= UNKNOWN_YEAR:
            break
        for n in (1, 3, 7, 10):
            try:
                end = calendar.add_workdays(day, n)
            except CalendarUnknown:
                continue
            assert calendar.workdays_between(day, end) == n
            assert calendar.workdays_between(day, end - timedelta(days=1)) == n - 1


def test_override_makes_a_weekday_a_holiday() -> None:
    overrides = {date(2026, 10, 8): False}
    calendar = WorkdayCalendar(overrides)
    assert not calendar.is_workday(date(2026, 10, 8))
    assert calendar.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 9)
    assert calendar.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 3
    # The calendar snapshots its overrides: later edits to the mapping change nothing.
    overrides[date(2026, 10, 9)] = False
    assert calendar.is_workday(date(2026, 10, 9))


def test_override_wins_over_the_package() -> None:
    calendar = WorkdayCalendar({date(2026, 10, 7): True, date(2026, 10, 10): False})
    assert calendar.is_workday(date(2026, 10, 7))
    assert not calendar.is_workday(date(2026, 10, 10))
    assert calendar.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 7)


def test_an_entry_alone_does_not_make_a_year_known() -> None:
    # One day entered says nothing of the year's other holidays: counting over it would be a guess.
    new_year = date(UNKNOWN_YEAR, 1, 1)
    calendar = WorkdayCalendar({new_year: False})
    assert UNKNOWN_YEAR not in calendar.known_years()
    with pytest.raises(CalendarUnknown):
        calendar.is_workday(new_year)
    with pytest.raises(CalendarUnknown):
        calendar.add_workdays(date(UNKNOWN_YEAR - 1, 12, 31), 1)
    assert calendar.known_until() == date(UNKNOWN_YEAR - 1, 12, 31)


def test_a_loaded_year_is_known() -> None:
    new_year = date(UNKNOWN_YEAR, 1, 1)
    calendar = WorkdayCalendar({new_year: False}, loaded_years=[UNKNOWN_YEAR])
    assert UNKNOWN_YEAR in calendar.known_years()
    assert UNKNOWN_YEAR + 1 not in calendar.known_years()
    assert not calendar.is_workday(new_year)
    monday = _first_weekday(UNKNOWN_YEAR, 0)
    saturday = _first_weekday(UNKNOWN_YEAR, 5)
    assert calendar.is_workday(monday)  # not listed: the ordinary week applies
    assert not calendar.is_workday(saturday)
    assert calendar.add_workdays(date(UNKNOWN_YEAR - 1, 12, 31), 1) == min(
        d for d in (new_year + timedelta(days=i) for i in range(1, 8)) if d.weekday() < 5
    )
    assert calendar.known_until() == date(UNKNOWN_YEAR, 12, 31)
    with pytest.raises(CalendarUnknown):
        calendar.is_workday(date(UNKNOWN_YEAR + 1, 3, 1))


# The days of the 2027 example schedule (docs/calendar-2027.example.csv) around the Spring Festival.
SPRING_2027 = {date(2027, 1, 31): True, date(2027, 2, 20): True} | {
    date(2027, 2, 5) + timedelta(days=i): False for i in range(9)
}


@pytest.mark.skipif(2027 in package_years(), reason="the package knows 2027: nothing to load")
def test_ten_working_days_across_the_2027_spring_festival() -> None:
    calendar = WorkdayCalendar(SPRING_2027, loaded_years=[2027])
    # From Thursday 28 January: 29 Jan, Sunday 31 Jan (make-up), 1-4 Feb, then 5-13 Feb off, 15-18 Feb.
    assert calendar.add_workdays(date(2027, 1, 28), 10) == date(2027, 2, 18)
    assert calendar.workdays_between(date(2027, 1, 28), date(2027, 2, 18)) == 10
    assert calendar.is_workday(date(2027, 1, 31)) and not calendar.is_workday(date(2027, 2, 8))
    # The same entries without the year loaded count for nothing.
    with pytest.raises(CalendarUnknown):
        WorkdayCalendar(SPRING_2027).add_workdays(date(2027, 1, 28), 10)


def test_known_until_is_the_end_of_the_unbroken_run_of_known_years() -> None:
    last = UNKNOWN_YEAR - 1
    assert known_until() == date(last, 12, 31)
    assert known_until([UNKNOWN_YEAR]) == date(UNKNOWN_YEAR, 12, 31)
    assert known_until([UNKNOWN_YEAR, UNKNOWN_YEAR + 1]) == date(UNKNOWN_YEAR + 1, 12, 31)
    # A year loaded beyond a gap does not count: deadlines across the gap stay unknown.
    assert known_until([UNKNOWN_YEAR + 1]) == date(last, 12, 31)
    assert known_until([2003]) == date(last, 12, 31)


def test_statutory_holidays_are_named_from_the_package() -> None:
    assert statutory_holiday(date(2026, 10, 1)) == "National Day (国庆节)"
    assert statutory_holiday(date(2026, 2, 17)) == "Spring Festival (春节)"
    assert statutory_holiday(date(2026, 10, 10)) is None  # a make-up working day
    assert statutory_holiday(date(2026, 10, 17)) is None  # an ordinary Saturday
    assert statutory_holiday(date(2026, 10, 8)) is None  # an ordinary Thursday


def test_unknown_year_raises(calendar: WorkdayCalendar) -> None:
    monday = _first_weekday(UNKNOWN_YEAR, 0)
    with pytest.raises(CalendarUnknown) as caught:
        calendar.is_workday(monday)
    assert caught.value.day == monday
    message = str(caught.value)
    assert str(UNKNOWN_YEAR) in message
    assert message.startswith(f"{monday.isoformat()} is beyond the statutory calendar the registry knows")
    assert f"(2004–{UNKNOWN_YEAR - 1})" in message
    assert "an administrator must enter" in message


def test_unknown_year_reached_by_counting(calendar: WorkdayCalendar) -> None:
    last_known = date(UNKNOWN_YEAR - 1, 12, 20)
    with pytest.raises(CalendarUnknown) as caught:
        calendar.add_workdays(last_known, 30)
    assert caught.value.day == date(UNKNOWN_YEAR, 1, 1)
    with pytest.raises(CalendarUnknown):
        calendar.workdays_between(last_known, date(UNKNOWN_YEAR, 1, 10))
    # Staying inside the known calendar is fine even when close to its edge.
    assert calendar.workdays_between(last_known, date(UNKNOWN_YEAR - 1, 12, 31)) > 0


def test_year_before_the_package(calendar: WorkdayCalendar) -> None:
    with pytest.raises(CalendarUnknown, match=r"2003-06-02 is before the statutory calendar .*2003"):
        calendar.is_workday(date(2003, 6, 2))
