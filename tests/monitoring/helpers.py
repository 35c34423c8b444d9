"""Shared steps of the monitoring tests: an approver's watchlist, pushes, the alert feed."""

import time
from collections.abc import Callable
from typing import Any

from app.db import session_scope
from app.monitoring import alerts as alerting
from tests.conftest import make_uscc, record_body

APPROVER = "national.market_regulation"
ACTION = "administrative_license"


def approver(token_for: Any, agency: str = APPROVER) -> dict[str, str]:
    return dict(token_for(agency, "checks:write"))


def watch(http: Any, headers: dict[str, str], *numbers: int, **extra: Any) -> dict[str, Any]:
    body = {"name": "许可审批关注", "action": ACTION, "identifiers": [make_uscc(n) for n in numbers]}
    answer = http.post("/v1/watchlists", json=body | extra, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def push(http: Any, headers: dict[str, str], n: int, **overrides: Any) -> dict[str, Any]:
    answer = http.post("/v1/records", json=record_body(n, **overrides), headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def make_alerts() -> int:
    """The delivery worker's first step, as the server's worker takes it after every commit: the
    alerts of every change waiting in the outbox; the changes taken."""
    taken = 0
    while True:
        with session_scope() as session:
            step = alerting.make(session)
        if not step:
            return taken
        taken += step


def alerts(http: Any, headers: dict[str, str], watchlist_id: str, after: str = "0") -> list[dict[str, Any]]:
    """The feed once the worker has made the alerts of every change so far."""
    make_alerts()
    answer = http.get(f"/v1/watchlists/{watchlist_id}/alerts", params={"after": after}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def decision(http: Any, headers: dict[str, str], n: int) -> str:
    answer = http.post(
        "/v1/checks", json={"subject": {"identifier": make_uscc(n)}, "action": ACTION}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["decision"])


def wait_for(condition: Callable[[], Any], seconds: float = 30.0) -> bool:
    """Whether `condition()` came true within `seconds` (looked at every 0.1 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
