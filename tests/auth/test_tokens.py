import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt

from app.auth.service import create_client
from app.config import get_settings
from app.db import session_scope
from app.keys import get_keyring
from tests.conftest import POLICE, record_body


def _new_client(*scopes):
    with session_scope() as session:
        return create_client(session, agency_code=POLICE, scopes=list(scopes), actor="test")


def _token(http, client, **extra):
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    return http.post("/v1/auth/token", data=form | extra)


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": "credit-registry",
        "aud": "registry-api",
        "sub": "cl_x",
        "agency": POLICE,
        "scope": "records:read records:write",
        "iat": now,
        "exp": now + 600,
    }
    return claims | overrides


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_client_credentials_grant_gives_a_bearer_token(http):
    client = _new_client("records:read", "records:write")
    answer = _token(http, client)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert set(body["scope"].split()) == {"records:read", "records:write"}
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["kid"] in {
        k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]
    }


def test_secret_is_stored_only_as_a_hash(http):
    from sqlalchemy import select

    from app.auth.models import ApiClient

    client = _new_client("records:read")
    with session_scope(writing=False) as session:
        stored = session.scalars(select(ApiClient).where(ApiClient.client_id == client.client_id)).one()
    assert client.client_secret not in stored.secret_hash and len(stored.secret_hash) == 64


def test_wrong_secret_and_unknown_client_are_invalid_client(http):
    client = _new_client("records:read")
    wrong = http.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "nope"},
    )
    unknown = http.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": "cl_0", "client_secret": "x"}
    )
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"


def test_a_scope_not_granted_cannot_be_requested(http):
    client = _new_client("records:read")
    answer = _token(http, client, scope="records:write")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_narrower_scope_token_is_refused_where_the_scope_is_missing(http):
    client = _new_client("records:read", "records:write")
    token = _token(http, client, scope="records:read").json()["access_token"]
    answer = http.post("/v1/records", json=record_body(), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def _push(http, token):
    return http.post("/v1/records", json=record_body(), headers={"Authorization": f"Bearer {token}"})


def test_missing_and_malformed_tokens_are_401(http):
    assert http.post("/v1/records", json=record_body()).status_code == 401
    assert _push(http, "not-a-jwt").status_code == 401
    assert _push(http, "a.b.c").status_code == 401


def test_expired_token_is_401(http):
    token = get_keyring().sign_jwt(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    answer = _push(http, token)
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"].lower()


def test_token_signed_by_another_key_is_401(http):
    stranger = ec.generate_private_key(ec.SECP256R1())
    pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    our_kid = get_keyring().active.kid
    token = jwt.encode(_claims(), pem.decode(), algorithm="ES256", headers={"kid": our_kid})
    assert _push(http, token).status_code == 401


def test_alg_none_is_401(http):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': get_keyring().active.kid})}.{_b64(_claims())}."
    assert _push(http, token).status_code == 401


def test_hs256_signed_with_the_public_key_is_401(http):
    # Algorithm confusion: an attacker signs HS256 using the published public key as the secret.
    public_jwk = json.dumps(get_keyring().active.public_jwk)
    token = jwt.encode(_claims(), public_jwk, algorithm="HS256", headers={"kid": get_keyring().active.kid})
    assert _push(http, token).status_code == 401


def test_wrong_audience_is_401(http):
    assert _push(http, get_keyring().sign_jwt(_claims(aud="someone-else"))).status_code == 401


def test_unsupported_grant_type(http):
    answer = http.post(
        "/v1/auth/token", data={"grant_type": "password", "client_id": "a", "client_secret": "b"}
    )
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(http):
    from typer.testing import CliRunner

    from app.cli import cli

    client = _new_client("records:read", "records:write")
    token = _token(http, client).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get("/v1/changes", headers=headers).status_code == 200
    result = CliRunner().invoke(cli, ["clients", "revoke", client.client_id])
    assert result.exit_code == 0, result.output
    assert http.get("/v1/changes", headers=headers).status_code == 401
    assert _token(http, client).status_code == 401
    listed = CliRunner().invoke(cli, ["clients", "list", "--json"])
    (row,) = [r for r in json.loads(listed.output) if r["client_id"] == client.client_id]
    assert row["revoked_at"] and "client_secret" not in row


def test_cli_creates_clients_and_lists_agencies():
    from typer.testing import CliRunner

    from app.cli import cli

    created = CliRunner().invoke(
        cli,
        [
            "clients",
            "create",
            "--agency",
            POLICE,
            "--scope",
            "records:write",
            "--scope",
            "checks:write",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    body = json.loads(created.output)
    assert set(body) == {"client_id", "client_secret", "agency", "scopes"}
    assert body["scopes"] == ["checks:write", "records:write"]
    unknown = CliRunner().invoke(
        cli, ["clients", "create", "--agency", "nowhere", "--scope", "admin", "--json"]
    )
    assert unknown.exit_code != 0
    agencies = json.loads(CliRunner().invoke(cli, ["agencies", "list", "--json"]).output)
    assert {"code": POLICE, "name_zh": "公安部", "jurisdiction": "national"} in agencies


# The claims a token must carry and the lifetime it may have (issue 14: a token signed with
# `exp` ten years out was accepted with `admin` scope). The client is a real one, so that only the
# token's own fault can refuse it.


def _real_claims(**overrides):
    client = _new_client("records:read", "records:write", "admin")
    return _claims(sub=client.client_id, scope="records:read records:write admin") | overrides


def test_a_well_formed_token_of_a_real_client_is_accepted(http):
    assert _push(http, get_keyring().sign_jwt(_real_claims())).status_code == 201


@pytest.mark.parametrize("claim", ["aud", "iss", "iat", "exp", "sub", "agency", "scope"])
def test_a_token_without_a_required_claim_is_401(http, claim):
    claims = _real_claims()
    del claims[claim]
    answer = _push(http, get_keyring().sign_jwt(claims))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "unauthorized"


def test_a_token_living_ten_years_is_401_even_from_the_active_key(http):
    now = int(time.time())
    token = get_keyring().sign_jwt(_real_claims(iat=now, exp=now + 10 * 365 * 86400))
    answer = _push(http, token)
    assert answer.status_code == 401
    assert "longer" in answer.json()["detail"]
    assert http.get("/v1/admin/holidays", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_one_second_longer_than_the_ttl_is_401(http):
    now, ttl = int(time.time()), get_settings().token_ttl_seconds
    assert _push(http, get_keyring().sign_jwt(_real_claims(iat=now, exp=now + ttl))).status_code == 201
    assert _push(http, get_keyring().sign_jwt(_real_claims(iat=now, exp=now + ttl + 1))).status_code == 401


def test_a_token_issued_in_the_future_is_401(http):
    now = int(time.time())
    token = get_keyring().sign_jwt(_real_claims(iat=now + 600, exp=now + 900))
    answer = _push(http, token)
    assert answer.status_code == 401 and "future" in answer.json()["detail"]
    # A few seconds ahead is a clock difference between servers, not a forgery.
    assert _push(http, get_keyring().sign_jwt(_real_claims(iat=now + 5, exp=now + 600))).status_code == 201


def test_a_token_whose_claims_are_not_strings_is_401(http):
    assert _push(http, get_keyring().sign_jwt(_real_claims(scope=["admin"]))).status_code == 401
    assert (
        _push(http, get_keyring().sign_jwt(_real_claims(exp=str(int(time.time()) + 60)))).status_code == 401
    )
