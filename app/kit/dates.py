"""Calendar days as the API takes them: strict ISO `YYYY-MM-DD` strings, within sane bounds.

Pydantic's own `date` takes a number as a Unix time (`"as_of": 0` is 1970-01-01), a datetime at
midnight, and any year from 1 to 9999, where the registry's day arithmetic (the end of a day, a
publicity period in months) overflows into a 500. API.md says dates are ISO `YYYY-MM-DD`: these types
take exactly that, in bodies and query strings alike, and refuse anything else with a 422 naming the
field. Python callers (services, tests) may still pass `date` objects; datetimes are refused.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

# No official act the registry can hold predates the People's Republic (1 October 1949); the upper
# bound leaves every publicity period (at most 5 years) and the rule calendar decades of room, while
# keeping `day + 1` and `day + months` far from datetime's year 9999.
EARLIEST = date(1949, 10, 1)
LATEST = date(2099, 12, 31)

# A decision that lists an entity cannot be older than the laws it applies: the oldest that listings
# rest on are the Civil Procedure Law (1991, enforcement of judgments) and the Administrative Penalty
# Law (1996); the credit system's own documents start with 国发〔2014〕21号 and 国发〔2016〕33号. An
# earlier decision date is a placeholder keyed by mistake (0001-01-01, 1900-01-01), not a decision,
# while 1990 still admits every court judgment whose debtor remains listed until it is performed.
DECISION_FLOOR = date(1990, 1, 1)

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _strict_day(earliest: date, latest: date) -> Callable[[Any], date]:
    def parse(value: Any) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value} is not a day of the calendar") from None
        else:
            raise ValueError("must be a date written YYYY-MM-DD (a string, e.g. 2026-11-18)")
        if not earliest <= day <= latest:
            raise ValueError(f"{day} is out of range: give a day from {earliest} to {latest}")
        return day

    return parse


def _json_schema(earliest: date, latest: date) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "format": "date", "description": f"YYYY-MM-DD, from {earliest} to {latest}"}
    )


IsoDate = Annotated[date, BeforeValidator(_strict_day(EARLIEST, LATEST)), _json_schema(EARLIEST, LATEST)]
# The day of the decision a record rests on (decision_date): see DECISION_FLOOR.
DecisionDate = Annotated[
    date, BeforeValidator(_strict_day(DECISION_FLOOR, LATEST)), _json_schema(DECISION_FLOOR, LATEST)
]
