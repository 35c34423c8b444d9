"""The working-day calendar: the Chinese statutory calendar (public holidays and make-up working weekends,
调休) from the `chinesecalendar` package, corrected and extended by administrators' entries.

Working days drive the registry's deadlines: disclosure within 7 working days, repair review within 10,
sync to other platforms within 3 (DOMAIN.md, Facts). A deadline computed over a year nobody has entered
would silently treat that year's holidays as working days, so such a date raises `CalendarUnknown`.

A year is *known* when the package covers it or when an administrator loaded that year's official
schedule as a whole (the State Council General Office's notice on the year's holidays, 国务院办公厅关于
某年部分节假日安排的通知; `registry calendar load`). A single administrator's entry does not make a year
known: one day says nothing about the others.
"""

import bisect
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import chinese_calendar

__all__ = ["CalendarUnknown", "WorkdayCalendar", "known_until", "package_years", "statutory_holiday"]


def package_years() -> frozenset[int]:
    """The years the `chinesecalendar` package has entered, read from its own holiday and workday tables."""
    # The package publishes each year once the State Council notice is out; never hard-code its range.
    return frozenset(day.year for day in chinese_calendar.holidays) | frozenset(
        day.year for day in chinese_calendar.workdays
    )


def known_until(loaded_years: Iterable[int] = ()) -> date:
    """The last day of the unbroken run of known years that starts with the package's first year.

    A year loaded beyond a gap does not extend it: a deadline counted across the gap would fail anyway.
    """
    known = package_years() | set(loaded_years)
    year = min(package_years())
    while year + 1 in known:
        year += 1
    return date(year, 12, 31)


def statutory_holiday(day: date) -> str | None:
    """The holiday `day` belongs to per the package ("National Day (国庆节)"), or None."""
    name = chinese_calendar.holidays.get(day)
    if name is None:
        return None
    try:
        chinese = chinese_calendar.Holiday(name).chinese
    except ValueError:  # a name the package's enum lacks: its English name alone
        return str(name)
    return f"{name} ({chinese})"


def _year_ranges(years: Iterable[int]) -> str:
    """2004, 2005, ..., 2026, 2028 -> "2004–2026, 2028"."""
    ordered = sorted(years)
    parts: list[str] = []
    start = previous = ordered[0] if ordered else 0
    for year in ordered[1:]:
        if year != previous + 1:
            parts.append(f"{start}–{previous}" if start != previous else str(start))
            start = year
        previous = year
    if ordered:
        parts.append(f"{start}–{previous}" if start != previous else str(start))
    return ", ".join(parts) or "none"


class CalendarUnknown(Exception):
    """A date lies in a year for which neither the package nor an administrator has entered the calendar."""

    def __init__(self, day: date, known_years: Iterable[int] | None = None) -> None:
        self.day = day
        self.known_years = sorted(package_years() if known_years is None else known_years)
        if self.known_years and day.year > self.known_years[-1]:
            where = "beyond"
        elif self.known_years and day.year < self.known_years[0]:
            where = "before"
        else:
            where = "outside"
        super().__init__(
            f"{day.isoformat()} is {where} the statutory calendar the registry knows "
            f"({_year_ranges(self.known_years)}); an administrator must enter {day.year}'s holidays "
            "and make-up working days"
        )


class WorkdayCalendar:
    """Working days per the Chinese statutory calendar, with administrator overrides.

    `overrides` maps a date to True (a working day) or False (a day off); an override always wins over the
    package, so a late State Council notice or a local adjustment can be entered without a release.

    A year is known when the package covers it or it is among `loaded_years` (its official schedule was
    loaded as a whole). In a loaded year the package lacks, every date not overridden follows the ordinary
    week (Monday-Friday working, Saturday-Sunday off). Overrides in a year that is not known count for
    nothing: the year still raises `CalendarUnknown`.

    The calendar is an immutable snapshot: build a new one when the overrides change. Each year's working
    days are computed once, on first use, as a sorted list of ordinals, so `add_workdays` and
    `workdays_between` cost a bisection per year touched rather than a loop per day.
    """

    def __init__(
        self, overrides: Mapping[date, bool] | None = None, loaded_years: Iterable[int] = ()
    ) -> None:
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._package_years = package_years()
        self._loaded_years = frozenset(loaded_years)
        self._known = self._package_years | self._loaded_years
        self._workday_ordinals: dict[int, list[int]] = {}
        self._workday_sets: dict[int, frozenset[int]] = {}

    def known_years(self) -> list[int]:
        return sorted(self._known)

    def known_until(self) -> date:
        """See `known_until`: the end of the unbroken run of known years."""
        return known_until(self._loaded_years)

    def _require_year(self, year: int, day: date) -> None:
        if year not in self._known:
            raise CalendarUnknown(day, self._known)

    def _year_ordinals(self, year: int) -> list[int]:
        """Sorted ordinals of the working days of a known year (cached)."""
        cached = self._workday_ordinals.get(year)
        if cached is not None:
            return cached
        in_package = year in self._package_years
        ordinals: list[int] = []
        day = date(year, 1, 1)
        one_day = timedelta(days=1)
        while day.year == year:
            override = self._overrides.get(day)
            if override is not None:
                working = override
            elif in_package:
                # Same rule as chinese_calendar.is_workday, read from its tables directly to skip its
                # per-call range check: a make-up day works, otherwise Mon-Fri unless a holiday.
                working = day in chinese_calendar.workdays or (
                    day.weekday() < 5 and day not in chinese_calendar.holidays
                )
            else:
                working = day.weekday() < 5
            if working:
                ordinals.append(day.toordinal())
            day += one_day
        self._workday_ordinals[year] = ordinals
        self._workday_sets[year] = frozenset(ordinals)
        return ordinals

    def is_workday(self, day: date) -> bool:
        self._require_year(day.year, day)
        if day.year not in self._workday_sets:
            self._year_ordinals(day.year)
        return day.toordinal() in self._workday_sets[day.year]

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day strictly after `start` (n >= 1): add_workdays(decision, 7) is the deadline."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        remaining = n
        after = start.toordinal()  # count working days with ordinal > after
        first_needed = start + timedelta(days=1)
        year = first_needed.year
        while True:
            self._require_year(year, max(first_needed, date(year, 1, 1)))
            ordinals = self._year_ordinals(year)
            index = bisect.bisect_right(ordinals, after)
            available = len(ordinals) - index
            if remaining <= available:
                return date.fromordinal(ordinals[index + remaining - 1])
            remaining -= available
            year += 1

    def workdays_between(self, start: date, end: date) -> int:
        """Number of working days d with start < d <= end; 0 when end <= start."""
        if end <= start:
            return 0
        first = start + timedelta(days=1)
        low, high = start.toordinal(), end.toordinal()
        total = 0
        for year in range(first.year, end.year + 1):
            self._require_year(year, max(first, date(year, 1, 1)))
            ordinals = self._year_ordinals(year)
            total += bisect.bisect_right(ordinals, high) - bisect.bisect_right(ordinals, low)
        return total
