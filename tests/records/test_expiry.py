"""The expiry sweep: writes down exits the calendar made, once, however many instances run it."""

import threading

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.db import session_scope
from app.kit import clock as registry_clock
from app.records.expiry import sweep_expired
from tests.conftest import record_body


def _expired_events() -> int:
    with session_scope(writing=False) as session:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "record.expired")
        return session.scalar(query)


def _push_short_records(http, police, clock, count=5):
    clock("2026-11-18T10:00")
    for n in range(1, count + 1):
        body = record_body(n, severity="general", publicity_end="2027-02-18")
        assert http.post("/v1/records", json=body, headers=police).status_code == 201


def test_sweep_marks_expired_records_and_feeds_the_change(http, police, token_for, clock):
    reader = token_for("national.public_security", "records:read")
    _push_short_records(http, police, clock, 3)
    clock("2027-02-18T23:00")
    with session_scope() as session:
        assert sweep_expired(session) == 0  # the last day is still inside the period
    clock("2027-02-19T01:00")
    with session_scope() as session:
        assert sweep_expired(session) == 3
    with session_scope() as session:
        assert sweep_expired(session) == 0
    feed = http.get("/v1/changes?limit=100", headers=reader).json()["items"]
    expired = [item for item in feed if item["event"] == "record.expired"]
    assert len(expired) == 3 and all(item["status"] == "expired" and item["version"] == 2 for item in expired)


def test_two_sweeps_at_once_do_the_work_once(http, police, clock):
    _push_short_records(http, police, clock, 20)
    clock("2027-03-01T10:00")
    results: list[int | None] = []
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        with session_scope() as session:
            results.append(sweep_expired(session))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r or 0 for r in results) == [0, 20]
    assert _expired_events() == 20


def test_sweep_cli_runs_until_nothing_is_left(http, police, clock, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli

    _push_short_records(http, police, clock, 4)
    clock("2027-03-01T10:00")
    result = CliRunner().invoke(cli, ["sweep"])
    assert result.exit_code == 0, result.output
    assert '"expired": 4' in result.output
    assert registry_clock.utcnow().year == 2027
