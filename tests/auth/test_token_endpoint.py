"""POST /v1/auth/token: HTTP Basic client authentication, and failed attempts throttled."""

import base64
from collections.abc import Iterator

import pytest

from app.auth import throttle
from app.auth.service import create_client
from app.db import session_scope
from app.kit.ratelimit import MemoryLimiter
from tests.conftest import POLICE, record_body

GRANT = {"grant_type": "client_credentials"}


def _client(*scopes: str):
    with session_scope() as session:
        return create_client(
            session, agency_code=POLICE, scopes=list(scopes or ["records:write"]), actor="test"
        )


def _form(client, secret: str | None = None) -> dict[str, str]:
    return GRANT | {"client_id": client.client_id, "client_secret": secret or client.client_secret}


# --- HTTP Basic (RFC 6749 §2.3.1) -----------------------------------------------------------------


def test_http_basic_client_authentication_gives_a_token(http):
    client = _client("records:write")
    answer = http.post("/v1/auth/token", data=GRANT, auth=(client.client_id, client.client_secret))
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    pushed = http.post("/v1/records", json=record_body(), headers={"Authorization": f"Bearer {token}"})
    assert pushed.status_code == 201


def test_basic_credentials_are_form_urlencoded_first(http):
    client = _client()
    user = client.client_id.replace("_", "%5F")  # what a client that encodes everything sends
    raw = base64.b64encode(f"{user}:{client.client_secret}".encode()).decode()
    answer = http.post("/v1/auth/token", data=GRANT, headers={"Authorization": f"Basic {raw}"})
    assert answer.status_code == 200, answer.text


def test_the_form_way_still_works(http):
    client = _client()
    assert http.post("/v1/auth/token", data=_form(client)).status_code == 200


def test_credentials_given_both_ways_are_400_invalid_request(http):
    client = _client()
    answer = http.post("/v1/auth/token", data=_form(client), auth=(client.client_id, client.client_secret))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    other = _client()
    mixed = http.post(
        "/v1/auth/token",
        data=GRANT | {"client_id": other.client_id},
        auth=(client.client_id, client.client_secret),
    )
    assert mixed.status_code == 400 and mixed.json()["error"] == "invalid_request"
    # Naming the same client in the form as well is no second credential.
    same = http.post(
        "/v1/auth/token",
        data=GRANT | {"client_id": client.client_id},
        auth=(client.client_id, client.client_secret),
    )
    assert same.status_code == 200


def test_a_wrong_basic_secret_is_challenged_with_basic(http):
    client = _client()
    answer = http.post("/v1/auth/token", data=GRANT, auth=(client.client_id, "wrong"))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_no_or_half_or_malformed_credentials(http):
    client = _client()
    nothing = http.post("/v1/auth/token", data=GRANT)
    assert nothing.status_code == 401 and nothing.json()["error"] == "invalid_client"
    half = http.post("/v1/auth/token", data=GRANT | {"client_id": client.client_id})
    assert half.status_code == 400 and half.json()["error"] == "invalid_request"
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        answer = http.post("/v1/auth/token", data=GRANT, headers={"Authorization": header})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", header


def test_the_openapi_document_describes_both_ways(http):
    document = http.get("/openapi.json").json()
    operation = document["paths"]["/v1/auth/token"]["post"]
    assert {"ClientBasic": []} in operation["security"] and {} in operation["security"]
    assert document["components"]["securitySchemes"]["ClientBasic"] == {
        "type": "http",
        "scheme": "basic",
        "description": "The client id and secret as HTTP Basic user and password (RFC 6749 §2.3.1)",
    }
    form_ref = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"]
    form = document["components"]["schemas"][form_ref.rsplit("/", 1)[1]]
    assert form["required"] == ["grant_type"]
    assert {"client_id", "client_secret"} <= set(form["properties"])
    assert "429" in operation["responses"]


# --- Throttling failed attempts --------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The token endpoint's throttle on a clock the test moves."""
    clock = Clock()
    throttle.use_throttle(
        throttle.FailureThrottle(
            MemoryLimiter(throttle.FAILURES_PER_CLIENT, throttle.WINDOW_SECONDS, clock),
            MemoryLimiter(throttle.FAILURES_PER_ADDRESS, throttle.WINDOW_SECONDS, clock),
            clock,
        )
    )
    yield clock
    throttle.use_throttle(None)


def test_twenty_wrong_secrets_for_one_client_are_throttled_but_not_for_ever(http, clock):
    client = _client()
    statuses = [http.post("/v1/auth/token", data=_form(client, f"guess-{n}")).status_code for n in range(20)]
    assert statuses[: throttle.FAILURES_PER_CLIENT] == [401] * throttle.FAILURES_PER_CLIENT
    assert set(statuses[throttle.FAILURES_PER_CLIENT :]) == {429}
    # While locked, the right secret is refused too: guessing on tells nothing.
    locked = http.post("/v1/auth/token", data=_form(client))
    assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"
    assert 0 < int(locked.headers["Retry-After"]) <= throttle.WINDOW_SECONDS
    # Another client is not affected (the address has failed 11 times, under its own limit).
    other = _client()
    assert http.post("/v1/auth/token", data=_form(other)).status_code == 200
    # After the window the client gets its token again.
    clock.now += throttle.WINDOW_SECONDS + 1
    assert http.post("/v1/auth/token", data=_form(client)).status_code == 200


def test_many_failures_from_one_address_are_throttled_whatever_the_client_id(http, clock):
    statuses = [
        http.post("/v1/auth/token", data=GRANT | {"client_id": f"cl_{n}", "client_secret": "x"}).status_code
        for n in range(throttle.FAILURES_PER_ADDRESS + 5)
    ]
    assert statuses[: throttle.FAILURES_PER_ADDRESS] == [401] * throttle.FAILURES_PER_ADDRESS
    assert set(statuses[throttle.FAILURES_PER_ADDRESS :]) == {429}
    # Basic counts the same as the form.
    client = _client()
    answer = http.post("/v1/auth/token", data=GRANT, auth=(client.client_id, client.client_secret))
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    clock.now += throttle.WINDOW_SECONDS
    assert (
        http.post("/v1/auth/token", data=GRANT, auth=(client.client_id, client.client_secret)).status_code
        == 200
    )


def test_successes_and_scope_errors_are_not_failures(http, clock):
    client = _client("records:write")
    for _ in range(throttle.FAILURES_PER_ADDRESS + 5):
        assert http.post("/v1/auth/token", data=_form(client)).status_code == 200
        assert http.post("/v1/auth/token", data=_form(client) | {"scope": "admin"}).status_code == 400
