"""PostgreSQL drops the connections the event-loop paths keep (a restart, pg_terminate_backend): the
next requests are answered on new connections, not with a 503 per stale one."""

import pytest
from sqlalchemy import text

from app.db import get_engine
from tests.checks.helpers import approver, push
from tests.conftest import make_uscc


def _drop_other_connections() -> int:
    with get_engine().connect() as connection:
        dropped = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    get_engine().dispose()  # its own pooled connections were among them
    return int(dropped)


def test_checks_and_lookups_survive_dropped_connections(http, police, token_for, clock):
    if get_engine().dialect.name != "postgresql":
        pytest.skip("the event-loop paths keep connections of their own on PostgreSQL only")
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    asked = {"subject": {"identifier": make_uscc(1)}, "action": "financing"}
    for _ in range(3):  # the pool now holds idle connections
        assert http.post("/v1/checks", json=asked, headers=headers).status_code == 200
        assert http.get(f"/v1/public/subjects/{make_uscc(1)}").status_code == 200
    assert _drop_other_connections() > 0
    for _ in range(5):
        answer = http.post("/v1/checks", json=asked, headers=headers)
        assert answer.status_code == 200, answer.text
        assert http.get(f"/v1/public/subjects/{make_uscc(1)}").status_code == 200
