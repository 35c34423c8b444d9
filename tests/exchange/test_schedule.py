"""When extracts are made: once a day is over, by one process however many try, days missed caught
up in order, by the server on its own and by `registry extracts make`."""

import json
import threading
import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.cli import cli
from app.config import get_settings
from app.db import session_scope
from app.exchange import extracts, schedule
from app.exchange.errors import ExtractNotDue, ExtractOutOfOrder
from app.main import app
from tests.conftest import record_body
from tests.exchange.test_extracts import make, ndjson, push


def _made_events() -> int:
    with session_scope(writing=False) as session:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "extract.made")
        return session.scalar(query)


@pytest.mark.parametrize("wait", [False, True], ids=["skip-if-busy", "wait-if-busy"])
def test_two_processes_making_the_same_day_at_once_make_it_once(http, police, clock, monkeypatch, wait):
    clock("2026-11-20T10:00")
    for n in range(1, 4):
        push(http, police, record_body(n))
    clock("2026-11-21T00:01")
    stream = extracts.repository.records_in_force_for_extract

    def slow(*args, **kwargs):  # the lock is held while the records stream: make that take a while
        time.sleep(0.5)
        yield from stream(*args, **kwargs)

    monkeypatch.setattr(extracts.repository, "records_in_force_for_extract", slow)
    start = threading.Barrier(2)
    results: list[object] = []

    def maker() -> None:
        start.wait()
        with session_scope() as session:
            made = extracts.make_extracts(session, date(2026, 11, 20), wait=wait)
        results.append(None if made is None else made.made_now)

    threads = [threading.Thread(target=maker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # One made them; the other found them made (SQLite's writer lock, or waiting on PostgreSQL's
    # advisory lock) or, not waiting, left them to the one holding the lock.
    assert sorted(results, key=str) in ([False, True], [None, True])
    assert _made_events() == 1
    assert len(ndjson("2026-11-20", "full").splitlines()) == 3


def test_missed_days_are_made_in_order_and_only_once(http, police, clock):
    clock("2026-11-18T10:00")
    push(http, police, record_body(1))
    clock("2026-11-19T00:30")
    with session_scope(writing=False) as session:
        assert extracts.due_days(session) == [date(2026, 11, 18)]  # none yet: the day just over
    assert [made.day for made in schedule.make_due()] == [date(2026, 11, 18)]
    clock("2026-11-20T10:00")
    push(http, police, record_body(2))
    clock("2026-11-22T03:00")  # the server was down on the 19th, 20th and 21st
    made = schedule.make_due()
    assert [m.day for m in made] == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    assert [m.extracts[1].previous for m in made] == [
        date(2026, 11, 18),
        date(2026, 11, 19),
        date(2026, 11, 20),
    ]
    assert [m.extracts[1].count for m in made] == [0, 1, 0]  # record 2 was added on the 20th
    assert schedule.make_due() == []
    assert _made_events() == 4


def test_a_day_not_over_or_out_of_turn_is_refused(http, clock):
    clock("2026-11-21T23:59")
    with pytest.raises(ExtractNotDue), session_scope() as session:
        extracts.make_extracts(session, date(2026, 11, 21))
    make("2026-11-20")
    with pytest.raises(ExtractOutOfOrder), session_scope() as session:
        extracts.make_extracts(session, date(2026, 11, 19))


def test_the_cli_makes_a_day_or_every_day_due(http, police, clock, no_extracts_left):
    clock("2026-11-20T10:00")
    push(http, police, record_body(1))
    clock("2026-11-22T08:00")
    today = CliRunner().invoke(cli, ["extracts", "make", "--date", "2026-11-22"])
    assert today.exit_code == 2 and "once that day is over" in today.output
    one = CliRunner().invoke(cli, ["extracts", "make", "--date", "2026-11-20"])
    assert one.exit_code == 0, one.output
    (made,) = json.loads(one.output)["extracts"]
    assert made["date"] == "2026-11-20" and made["made_now"] and made["files"][0]["count"] == 1
    assert (no_extracts_left / made["files"][0]["path"]).is_file()
    again = CliRunner().invoke(cli, ["extracts", "make", "--date", "2026-11-20"])
    assert json.loads(again.output)["extracts"][0]["made_now"] is False
    due = CliRunner().invoke(cli, ["extracts", "make"])
    assert [m["date"] for m in json.loads(due.output)["extracts"]] == ["2026-11-21"]


def test_the_server_makes_the_days_extracts_on_its_own(http, police, clock, monkeypatch):
    clock("2026-11-21T10:00")
    push(http, police, record_body(1))
    clock("2026-11-22T00:02")  # the 21st is over
    monkeypatch.setattr(get_settings(), "sweep_interval_seconds", 1)
    with TestClient(app):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _made_events() == 0:
            time.sleep(0.2)
    with session_scope(writing=False) as session:
        rows = extracts.rows_of(session, date(2026, 11, 21))
    assert [(row.kind, row.count) for row in rows] == [("full", 1)]
