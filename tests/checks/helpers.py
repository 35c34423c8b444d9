"""Shared steps of the check tests: approvers, records of each kind, one check."""

from typing import Any

from tests.conftest import COURT, POLICE, TAX, make_uscc, record_body

APPROVER = "national.market_regulation"


def approver(token_for: Any, agency: str = APPROVER) -> dict[str, str]:
    return token_for(agency, "checks:write")


def push(http: Any, headers: dict[str, str], n: int, **overrides: Any) -> dict[str, Any]:
    answer = http.post("/v1/records", json=record_body(n, **overrides), headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def check(http: Any, headers: dict[str, str], n: int | str, action: str, **extra: Any) -> dict[str, Any]:
    identifier = make_uscc(n) if isinstance(n, int) else n
    answer = http.post(
        "/v1/checks", json={"subject": {"identifier": identifier}, "action": action, **extra}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def codes(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["code"] for entry in entries]


__all__ = ["COURT", "POLICE", "TAX", "approver", "check", "codes", "push"]
