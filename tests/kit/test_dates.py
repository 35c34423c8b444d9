"""The strict date types: ISO `YYYY-MM-DD` strings only, within bounds, in JSON and Python input alike."""

from datetime import date, datetime

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from app.kit.dates import DECISION_FLOOR, EARLIEST, LATEST, DecisionDate, IsoDate


class Body(BaseModel):
    day: IsoDate | None = None
    decided: DecisionDate | None = None


def _refusal(**fields: object) -> str:
    with pytest.raises(ValidationError) as refused:
        Body.model_validate(fields)
    (error,) = refused.value.errors()
    return str(error["msg"])


def test_an_iso_day_is_taken_from_json_and_from_python():
    assert Body.model_validate_json('{"day": "2026-11-18"}').day == date(2026, 11, 18)
    assert Body.model_validate({"day": "2026-11-18"}).day == date(2026, 11, 18)
    assert Body.model_validate({"day": date(2026, 11, 18)}).day == date(2026, 11, 18)
    assert Body.model_validate({"day": EARLIEST.isoformat()}).day == EARLIEST
    assert Body.model_validate({"day": LATEST.isoformat()}).day == LATEST


@pytest.mark.parametrize(
    "value", [0, 1_763_424_000, 2026.5, "2026-11-18T00:00:00", "20261118", "2026-1-8", "２０２６-11-18", True]
)
def test_anything_but_a_written_day_is_refused(value):
    assert "YYYY-MM-DD" in _refusal(day=value)
    with pytest.raises(ValidationError):
        Body.model_validate_json(orjson.dumps({"day": value}))


def test_a_datetime_object_is_not_a_day():
    assert "YYYY-MM-DD" in _refusal(day=datetime(2026, 11, 18))


@pytest.mark.parametrize("value", ["0001-01-01", "1949-09-30", "2100-01-01", "9999-12-31"])
def test_days_out_of_bounds_are_refused_with_the_bounds(value):
    assert f"from {EARLIEST} to {LATEST}" in _refusal(day=value)


def test_a_day_not_on_the_calendar_is_named():
    assert "2026-02-30 is not a day of the calendar" in _refusal(day="2026-02-30")


@pytest.mark.parametrize("value", ["0001-01-01", "1900-01-01", "1989-12-31"])
def test_decision_dates_start_at_the_floor(value):
    assert f"from {DECISION_FLOOR}" in _refusal(decided=value)
    assert Body.model_validate({"decided": DECISION_FLOOR.isoformat()}).decided == DECISION_FLOOR


def test_the_document_says_what_is_taken():
    schema = Body.model_json_schema()["properties"]["day"]["anyOf"][0]
    assert schema == {
        "type": "string",
        "format": "date",
        "description": f"YYYY-MM-DD, from {EARLIEST} to {LATEST}",
    }
