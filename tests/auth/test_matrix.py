"""Every route × every kind of caller, generated from the app's route table.

A route is either public on purpose (listed here) or closed: then no token, a bad token of any
kind, or a token without the scope it needs is refused before anything else happens. A new route
that is neither listed nor closed fails this test.
"""

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.routing import APIRoute
from jose import jwt

from app.auth.deps import Caller
from app.auth.scopes import Scope
from app.keys import get_keyring
from app.kit.routing import leaf_routes
from app.main import app

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/v1/auth/token"),
    ("GET", "/v1/domains"),
    ("GET", "/v1/domains/{code}"),
    ("GET", "/v1/agencies"),
    ("GET", "/v1/measures"),
    ("GET", "/v1/calendar"),  # how far the working-day calendar is known: no personal data
    # The public web pages (app.public.web): no account, rate limited like /v1/public/.
    ("GET", "/"),
    ("GET", "/subjects/{ref}"),
    ("GET", "/records/{record_id}/repair"),
    ("POST", "/records/{record_id}/repair"),
    ("GET", "/records/{record_id}/objection"),
    ("POST", "/records/{record_id}/objection"),
    ("GET", "/progress"),
    ("POST", "/progress/appeal"),
    ("POST", "/progress/files"),
    ("GET", "/reports/{report_id}"),
    ("POST", "/reports/{report_id}"),
    ("GET", "/notices"),
    ("POST", "/notices"),
    ("GET", "/privacy"),
}
PUBLIC_PREFIXES = ("/v1/public/", "/docs", "/openapi.json", "/redoc")


def _routes():
    for route in (r for r in leaf_routes(app.routes) if isinstance(r, APIRoute)):
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield method, route


def _callers(route: APIRoute) -> list[Caller]:
    return [d.call for d in route.dependant.dependencies if isinstance(d.call, Caller)]


def _required_scopes(route: APIRoute) -> tuple[Scope, ...] | None:
    """The scopes a route's caller needs (one of them); None when it needs none or no token at all."""
    return next((caller.required_scopes for caller in _callers(route) if caller.required_scopes), None)


def _authenticated(route: APIRoute) -> bool:
    return bool(_callers(route))


def _path(route: APIRoute) -> str:
    path = route.path_format
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", "00000000-0000-0000-0000-000000000000")
    return path.replace("{", "").replace("}", "")


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _claims(**overrides):
    now = int(time.time())
    base = {
        "iss": "credit-registry",
        "aud": "registry-api",
        "sub": "cl_matrix",
        "agency": "national.public_security",
        "scope": " ".join(s.value for s in Scope),
        "iat": now,
        "exp": now + 600,
    }
    return base | overrides


def _bad_tokens() -> dict[str, str]:
    keyring = get_keyring()
    stranger = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = keyring.active.kid
    now = int(time.time())
    return {
        "garbage": "not.a.token",
        "expired": keyring.sign_jwt(_claims(iat=now - 7200, exp=now - 3600)),
        "wrong_key": jwt.encode(_claims(), stranger.decode(), algorithm="ES256", headers={"kid": kid}),
        "alg_none": f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(_claims())}.",
        "hs256_confusion": jwt.encode(
            _claims(), json.dumps(keyring.active.public_jwk), algorithm="HS256", headers={"kid": kid}
        ),
        "wrong_audience": keyring.sign_jwt(_claims(aud="elsewhere")),
    }


ROUTES = list(_routes())


def test_every_route_is_public_on_purpose_or_closed():
    stray = [
        (method, route.path_format)
        for method, route in ROUTES
        if (method, route.path_format) not in PUBLIC
        and not route.path_format.startswith(PUBLIC_PREFIXES)
        and _required_scopes(route) is None
        and not _authenticated(route)
    ]
    assert stray == []


CLOSED = [(m, r) for m, r in ROUTES if _required_scopes(r) is not None or _authenticated(r)]


@pytest.mark.parametrize(("method", "route"), CLOSED, ids=[f"{m} {r.path}" for m, r in CLOSED])
def test_closed_routes_refuse_missing_and_bad_tokens(http, method, route):
    path = _path(route)
    assert http.request(method, path, json={}).status_code == 401
    for kind, token in _bad_tokens().items():
        answer = http.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (kind, answer.text)
        assert answer.json()["error"] in ("unauthorized", "invalid_client")


SCOPED = [(m, r) for m, r in ROUTES if _required_scopes(r)]


@pytest.mark.parametrize(("method", "route"), SCOPED, ids=[f"{m} {r.path}" for m, r in SCOPED])
def test_each_other_scope_alone_is_forbidden(http, token_for, method, route):
    required = set(_required_scopes(route) or ())
    path = _path(route)
    for scope in Scope:
        if scope in required:
            continue
        headers = token_for("national.credit_office", scope.value)
        answer = http.request(method, path, json={}, headers=headers)
        assert answer.status_code == 403, (scope, answer.text)
        assert answer.json()["error"] == "forbidden"
    allowed = token_for("national.credit_office", next(iter(required)).value)
    assert http.request(method, path, json={}, headers=allowed).status_code not in (401, 403)
