"""Shared steps of the case tests: a record old enough to repair, an application, a decision."""

from typing import Any

from tests.conftest import record_body

# Decided on 28 May 2026 (general severity: repair from 28 Aug), pushed the next day.
LISTED_AT = "2026-05-29T10:00"
APPLIED_AT = "2026-09-29T10:00"
# 10 working days after 29 Sep 2026, across National Day and the make-up Saturday 10 Oct.
TENTH_WORKDAY = "2026-10-19"


def listed(http: Any, police: dict[str, str], clock: Any, n: int = 1, **overrides: Any) -> dict[str, Any]:
    clock(LISTED_AT)
    body = record_body(n, severity="general", decision_date="2026-05-28", **overrides)
    answer = http.post("/v1/records", json=body, headers=police)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def repair_body(record_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "record_id": record_id,
        "applicant": {"name": "测试科技有限公司1", "contact": "0632-1234567"},
        "statement": "已全额缴纳罚款并完成整改",
        "commitment": True,
        "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证 No. 2026-001"}],
    }
    return body | overrides


def apply(http: Any, clock: Any, record_id: str, at: str = APPLIED_AT) -> dict[str, Any]:
    clock(at)
    answer = http.post("/v1/public/repairs", json=repair_body(record_id))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def decide(http: Any, headers: dict[str, str], case_id: str, outcome: str, reason: str, **extra: Any) -> Any:
    return http.post(
        f"/v1/cases/{case_id}/decision", json={"outcome": outcome, "reason": reason, **extra}, headers=headers
    )
