"""The registry's notion of "now" and "today": instants in UTC, calendar days in China Standard Time."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


# Tests (and the benchmark's backfills) may pin or shift the registry's clock; nothing else sets it.
_pinned: datetime | None = None
_offset = timedelta(0)


def pin(instant: datetime | None) -> None:
    """Make utcnow() answer `instant` (None: the real clock again)."""
    global _pinned
    _pinned = instant


def shift(instant: datetime | None) -> None:
    """Make the clock run on from `instant` as of now (None: the real clock again). A test suite
    written against certain calendar days keeps meaning the same thing whenever it runs."""
    global _offset
    _offset = timedelta(0) if instant is None else instant - datetime.now(UTC)


def utcnow() -> datetime:
    return _pinned if _pinned is not None else datetime.now(UTC) + _offset


def china_today() -> date:
    return utcnow().astimezone(CHINA).date()


def china_date(instant: datetime) -> date:
    return instant.astimezone(CHINA).date()


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's end (2024-01-31 + 1 month = 2024-02-29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=CHINA)
