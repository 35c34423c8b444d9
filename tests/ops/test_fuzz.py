"""Fuzzing against the contract: schemathesis generates requests for every operation of the app's own
OpenAPI document, with and without an all-scopes token, and fails on any 5xx and on any status,
header or body the document does not declare (app/openapi.py keeps it honest).

A small pass for every run of the suite; scripts/fuzz is the large one, against a live server on
PostgreSQL with seeded records (docs/operations.md, "Fuzzing").
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.auth.scopes import Scope
from app.main import app

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
EXAMPLES_PER_OPERATION = 30
MIN_REQUESTS = 2000
sent: Counter[str] = Counter()
operations_sent: set[str] = set()
# Schema-valid is not always valid: a check character, a date in the future or an unknown record id
# cannot be expressed in JSON Schema, so a 422 or 404 for generated data is an honest answer.
NOT_APPLICABLE = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture
def admin_token(token_for):
    return token_for("national.credit_office", *[scope.value for scope in Scope])


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_anonymous_requests_break_nothing(case):
    sent["anonymous"] += 1
    operations_sent.add(case.operation.label)
    case.call_and_validate(excluded_checks=NOT_APPLICABLE)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_authenticated_requests_break_nothing(case, admin_token):
    sent["authenticated"] += 1
    operations_sent.add(case.operation.label)
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, excluded_checks=NOT_APPLICABLE)


def test_enough_requests_were_generated():
    """Runs after the two above (module order): the contract asks for at least 2,000 requests."""
    if not sent:
        pytest.skip("the fuzz tests did not run in this session (deselected)")
    print(f"fuzz requests: {dict(sent)}")
    assert sum(sent.values()) >= MIN_REQUESTS, dict(sent)
    documented = {
        f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items() for method in item
    }
    assert documented - operations_sent == set(), "operations the fuzzer never called"
