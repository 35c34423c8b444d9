"""The catalog's errors: the working-day calendar's refusals."""

from app.errors import Conflict, Unprocessable


class ScheduleInvalid(Unprocessable):
    """The schedule file is wrong at one line; nothing was loaded."""

    code = "invalid_schedule"


class HolidayConfirmationRequired(Conflict):
    """A statutory holiday would become a working day: the request must say `force`."""

    code = "confirmation_required"


class CalendarYearNotLoaded(Conflict):
    """A single day in a year nobody loaded: it would not make the year known, so it is refused."""

    code = "calendar_year_unknown"
