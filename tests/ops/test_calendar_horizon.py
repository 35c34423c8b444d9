"""Operators see the working-day calendar running out: a gauge in /metrics and a warning at startup
when fewer than 60 days are known ahead; the migration keeps years entered day by day known."""

import logging
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import migrate
from app.kit.workdays import package_years
from app.main import app

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "calendar-2027.example.csv"
GAUGE = "registry_calendar_days_known_ahead"

pytestmark = pytest.mark.skipif(2027 in package_years(), reason="the package already knows 2027")


def _gauge(http) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(GAUGE + " "):
            return float(line.split()[1])
    raise AssertionError(f"{GAUGE} not in /metrics")


def test_metrics_count_the_days_known_ahead(http, token_for, clock, monkeypatch):
    monkeypatch.setattr("app.health.RECOUNT_SECONDS", 0.0)
    admin = token_for("national.credit_office", "admin")
    clock("2026-12-06T10:00")
    assert _gauge(http) == 25.0  # 6 December to 31 December 2026
    content = SAMPLE.read_text(encoding="utf-8")
    assert http.post("/v1/admin/calendar", json={"content": content}, headers=admin).status_code == 201
    assert _gauge(http) == 390.0  # to 31 December 2027
    clock("2027-01-05T10:00")
    assert _gauge(http) == 360.0


def _startup_warnings(caplog) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="registry"), TestClient(app):
        pass
    return [r.getMessage() for r in caplog.records if r.name == "registry" and "calendar" in r.getMessage()]


def test_startup_warns_when_fewer_than_60_days_are_known(clock, caplog):
    clock("2026-12-06T10:00")
    [warning] = _startup_warnings(caplog)
    assert "known until 2026-12-31 (25 days ahead, fewer than 60)" in warning
    assert "registry calendar load" in warning and "2027" in warning

    clock("2026-10-01T10:00")  # 91 days ahead: nothing to say
    assert _startup_warnings(caplog) == []

    clock("2027-01-10T10:00")  # already past: still said, with the days negative
    [warning] = _startup_warnings(caplog)
    assert "(-10 days ahead" in warning


def test_years_entered_day_by_day_stay_known_after_the_migration(scratch_database_url):
    """Before calendar_years any entry declared its year: the upgrade keeps such years known."""
    from sqlalchemy import create_engine, text

    url = scratch_database_url
    migrate.upgrade(url, "receipt_format")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO calendar_overrides (day, workday, note) VALUES (:day, :workday, '')"),
                [
                    {"day": date(2027, 1, 1), "workday": False},
                    {"day": date(2027, 2, 6), "workday": True},
                    {"day": date(2026, 10, 8), "workday": False},
                ],
            )
        migrate.upgrade(url)
        with engine.connect() as connection:
            years = connection.execute(text("SELECT year, days FROM calendar_years ORDER BY year")).all()
        assert [tuple(row) for row in years] == [(2026, 1), (2027, 2)]
        migrate.downgrade(url, "receipt_format")
        migrate.upgrade(url)
    finally:
        engine.dispose()
