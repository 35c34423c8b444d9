"""A year's official holiday schedule, loaded as a whole, and how far the working-day calendar reaches.

Every year the State Council General Office publishes the next year's holidays and make-up working
days (国务院办公厅关于某年部分节假日安排的通知, usually in November). `chinesecalendar` follows with a
release; until it does, an administrator loads the notice as a schedule file (docs/operations.md,
"Working-day calendar"):

    # 国务院办公厅关于2027年部分节假日安排的通知
    date,workday,note
    2027-01-01,false,元旦
    2027-01-31,true,春节调休上班

UTF-8 CSV; blank lines and lines starting with `#` are skipped; the header comes first; one line per
day the schedule names (holidays `false`, make-up working days `true`), all in one year. The load
replaces that year's earlier entries, in one transaction, and makes the year known.
"""

import csv
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog.errors import CalendarYearNotLoaded, HolidayConfirmationRequired, ScheduleInvalid
from app.catalog.models import CalendarOverride, CalendarYear
from app.kit.clock import china_today, utcnow
from app.kit.dates import EARLIEST, LATEST
from app.kit.text import printable
from app.kit.workdays import known_until, package_years, statutory_holiday

# Fewer days known ahead than this and the operators are warned (startup log, /metrics): the next
# year's notice usually comes out in November, so two months leave time to load it.
WARN_DAYS_AHEAD = 60
NOTE_MAX = 200
HEADER = ["date", "workday", "note"]
_BOOLEANS = {"true": True, "false": False}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class ScheduleDay:
    line: int
    day: date
    workday: bool
    note: str


@dataclass
class Schedule:
    year: int
    days: list[ScheduleDay] = field(default_factory=list)
    sha256: str = ""


def _invalid(line: int, message: str) -> ScheduleInvalid:
    return ScheduleInvalid(f"line {line}: {message}; nothing was loaded", line=line)


def parse_schedule(content: bytes | str) -> Schedule:
    """Read a schedule file; the first error raises ScheduleInvalid naming its line."""
    raw = content.encode() if isinstance(content, str) else content
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _invalid(line, "the file is not UTF-8 text") from None
    numbered = [
        (number, row)
        for number, row in enumerate(text.splitlines(), start=1)
        if row.strip() and not row.lstrip().startswith("#")
    ]
    if not numbered:
        raise ScheduleInvalid("the file lists no day (expected a date,workday,note header and lines)")
    header_line, header = numbered[0]
    if [cell.strip().lower() for cell in next(csv.reader([header]))] not in (HEADER, HEADER[:2]):
        raise _invalid(header_line, f"the header must be {','.join(HEADER)}, not {header.strip()!r}")
    schedule: Schedule | None = None
    seen: dict[date, int] = {}
    for number, row in numbered[1:]:
        try:
            cells = [cell.strip() for cell in next(csv.reader([row], strict=True))]
        except csv.Error as exc:  # an unterminated quote, a field past the csv module's limit
            raise _invalid(number, f"not a CSV line: {exc}") from None
        if len(cells) not in (2, 3):
            raise _invalid(number, f"expected date,workday,note, got {len(cells)} fields")
        try:
            # fromisoformat alone also takes 20270101 and week dates (2027-W05-1): only YYYY-MM-DD here.
            if not _DATE.fullmatch(cells[0]):
                raise ValueError(cells[0])
            day = date.fromisoformat(cells[0])
        except ValueError:
            raise _invalid(number, f"{cells[0]!r} is not a date (YYYY-MM-DD)") from None
        if not EARLIEST <= day <= LATEST:  # the days every other input of the registry takes
            raise _invalid(number, f"{day} is outside {EARLIEST}..{LATEST}")
        workday = _BOOLEANS.get(cells[1].lower())
        if workday is None:
            raise _invalid(number, f"workday must be true or false, not {cells[1]!r}")
        note = cells[2] if len(cells) == 3 else ""
        if len(note) > NOTE_MAX:
            raise _invalid(number, f"the note is longer than {NOTE_MAX} characters")
        try:
            printable(note)
        except ValueError as exc:
            raise _invalid(number, f"the note: {exc}") from None
        if day in seen:
            raise _invalid(number, f"{day} is listed twice (first on line {seen[day]})")
        if schedule is None:
            schedule = Schedule(year=day.year)
        elif day.year != schedule.year:
            raise _invalid(
                number,
                f"{day} is not in {schedule.year}, the year of this file's first day; one year per file",
            )
        seen[day] = number
        schedule.days.append(ScheduleDay(number, day, workday, note))
    if schedule is None:
        raise _invalid(header_line, "the file lists no day after its header")
    schedule.sha256 = hashlib.sha256(raw).hexdigest()
    return schedule


def holiday_made_workday(session: Session, day: date, workday: bool) -> str | None:
    """The holiday `day` is, when making it a working day would undo one: per the package, or per the
    schedule an administrator loaded for its year. None when nothing needs confirming."""
    if not workday:
        return None
    name = statutory_holiday(day)
    if name is not None:
        return name
    if session.get(CalendarYear, day.year) is None:
        return None
    entry = session.get(CalendarOverride, day)
    if entry is not None and not entry.workday:
        return f"{entry.note or 'a holiday'} (in the {day.year} schedule loaded)"
    return None


def confirm_holiday_change(session: Session, day: date, workday: bool, force: bool) -> str | None:
    """Refuse, unless forced, to turn a statutory holiday into a working day: a slip there moves every
    deadline across the holiday. Returns the holiday so forced (None: nothing to confirm)."""
    holiday = holiday_made_workday(session, day, workday)
    if holiday is not None and not force:
        raise HolidayConfirmationRequired(
            f"{day} is {holiday}, a statutory holiday; making it a working day moves every deadline "
            'across it: send "force": true to confirm',
            holiday=holiday,
        )
    return holiday


def require_known_year(session: Session, day: date) -> None:
    if day.year in package_years() or session.get(CalendarYear, day.year) is not None:
        return
    raise CalendarYearNotLoaded(
        f"{day.year} is not in the statutory calendar the registry knows: load that year's whole "
        "schedule first (registry calendar load FILE, or POST /v1/admin/calendar); one day alone would "
        "leave the others unknown"
    )


@dataclass
class Loaded:
    year: int
    days: int
    replaced: int
    known_until: date


def load_schedule(
    session: Session, actor: str, schedule: Schedule, *, source: str = "", force: bool = False
) -> Loaded:
    """Replace the year's entries with the schedule's and mark the year loaded; flush and audit. The
    caller's transaction makes it all or nothing."""
    for entry in schedule.days:
        holiday = statutory_holiday(entry.day) if entry.workday else None
        if holiday is not None and not force:
            raise HolidayConfirmationRequired(
                f"line {entry.line}: {entry.day} is {holiday}, a statutory holiday, listed as a working "
                'day; confirm with --force (API: "force": true); nothing was loaded',
                line=entry.line,
                holiday=holiday,
            )
    first, last = date(schedule.year, 1, 1), date(schedule.year, 12, 31)
    earlier = list(
        session.scalars(
            select(CalendarOverride)
            .where(CalendarOverride.day >= first, CalendarOverride.day <= last)
            .order_by(CalendarOverride.day)
        )
    )
    replaced = [{"date": e.day.isoformat(), "workday": e.workday, "note": e.note} for e in earlier]
    session.execute(
        delete(CalendarOverride).where(CalendarOverride.day >= first, CalendarOverride.day <= last)
    )
    session.add_all(CalendarOverride(day=d.day, workday=d.workday, note=d.note) for d in schedule.days)
    year = session.get(CalendarYear, schedule.year)
    if year is None:
        year = CalendarYear(year=schedule.year)
        session.add(year)
    year.source, year.days, year.sha256 = source, len(schedule.days), schedule.sha256
    year.loaded_at, year.loaded_by = utcnow(), actor
    session.flush()
    audit.append(
        session,
        actor,
        [
            audit.Event(
                "calendar.year_loaded",
                "calendar",
                str(schedule.year),
                {
                    "source": source,
                    "sha256": schedule.sha256,
                    "days": [
                        {"date": d.day.isoformat(), "workday": d.workday, "note": d.note}
                        for d in schedule.days
                    ],
                    "replaced": replaced,
                    "forced": force,
                },
            )
        ],
    )
    return Loaded(schedule.year, len(schedule.days), len(replaced), known_until(loaded_years(session)))


def loaded_years(source: Session | Connection) -> list[int]:
    return list(source.scalars(select(CalendarYear.year).order_by(CalendarYear.year)))


def loaded_year_rows(session: Session) -> list[CalendarYear]:
    return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def calendar_horizon(source: Session | Connection, today: date | None = None) -> tuple[date, int]:
    """(known_until, days known ahead of today): negative once today is past what is known."""
    until = known_until(loaded_years(source))
    return until, (until - (today or china_today())).days


def horizon_warning(source: Session | Connection) -> str | None:
    """The operators' warning when fewer than WARN_DAYS_AHEAD days are known ahead, else None."""
    until, ahead = calendar_horizon(source)
    if ahead >= WARN_DAYS_AHEAD:
        return None
    next_year = until + timedelta(days=1)
    return (
        f"the working-day calendar is known until {until} ({ahead} days ahead, fewer than "
        f"{WARN_DAYS_AHEAD}): deadlines past it are recorded as unknown; load {next_year.year}'s "
        "schedule with `registry calendar load FILE` (docs/operations.md) or upgrade chinesecalendar"
    )
