import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from anyio import from_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel

from app.auth import service
from app.auth.throttle import throttle
from app.db import DbSession
from app.errors import InvalidClient, RegistryError, UnsupportedGrantType, errors_declared

router = APIRouter(tags=["auth"])

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="registry"'}


class InvalidRequest(RegistryError):
    """RFC 6749 §5.2: a parameter missing, repeated or malformed."""

    code = "invalid_request"


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class ClientBasic(HTTPBasic):
    """HTTP Basic client authentication (RFC 6749 §2.3.1): the client id and secret, each
    form-urlencoded, as user and password. Declared as a security scheme in the OpenAPI document,
    parsed here so that a malformed header is an OAuth2 error rather than a bare 401."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest("the Authorization header is not valid HTTP Basic") from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise InvalidRequest("HTTP Basic credentials must be client_id:client_secret")
        return HTTPBasicCredentials(username=unquote_plus(client_id), password=unquote_plus(secret))


_basic = ClientBasic(
    scheme_name="ClientBasic",
    description="The client id and secret as HTTP Basic user and password (RFC 6749 §2.3.1)",
)


def _basic_challenge(exc: InvalidClient) -> InvalidClient:
    """RFC 6749 §5.2: a 401 to a client that used (or may use) HTTP Basic challenges with Basic."""
    exc.headers = dict(_BASIC_CHALLENGE)
    return exc


def _credentials(
    basic: HTTPBasicCredentials | None, client_id: str | None, secret: str | None
) -> tuple[str, str]:
    """The client's id and secret, from exactly one of the two ways of sending them."""
    if basic is not None:
        if secret is not None or (client_id is not None and client_id != basic.username):
            raise InvalidRequest("client credentials were sent both in HTTP Basic and in the form: use one")
        if not basic.username or len(basic.username) > 64 or not basic.password or len(basic.password) > 256:
            raise _basic_challenge(InvalidClient("unknown client or wrong secret"))
        return basic.username, basic.password
    if client_id is None and secret is None:
        raise _basic_challenge(
            InvalidClient(
                "client authentication is required: HTTP Basic, or client_id and client_secret in the form"
            )
        )
    if client_id is None or secret is None:
        raise InvalidRequest("client_id and client_secret go together")
    return client_id, secret


@router.post(
    "/v1/auth/token",
    response_model=TokenOut,
    responses=errors_declared(400, 401, 429),
    # HTTP Basic or the form's client_id and client_secret: the empty requirement says "or none".
    openapi_extra={"security": [{}]},
)
def issue_token(
    request: Request,
    session: DbSession,
    grant_type: Annotated[str, Form(min_length=1)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    client_id: Annotated[
        str | None, Form(min_length=1, max_length=64, description="Unless sent with HTTP Basic")
    ] = None,
    client_secret: Annotated[
        str | None, Form(min_length=1, max_length=256, description="Unless sent with HTTP Basic")
    ] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> dict[str, object]:
    """OAuth2 client credentials (RFC 6749 §4.4). The client authenticates with HTTP Basic (§2.3.1,
    `curl -u id:secret`) or with `client_id` and `client_secret` in the form, not both (400
    invalid_request). Repeated failures for one client or from one address are answered 429 for a
    while (Retry-After), the right secret included."""
    if grant_type != "client_credentials":
        raise UnsupportedGrantType("only grant_type=client_credentials is supported")
    client_id, client_secret = _credentials(basic, client_id, client_secret)
    address = request.client.host if request.client else "unknown"
    failures = throttle()
    failures.check(client_id, address)
    try:
        return service.issue_token(session, client_id=client_id, client_secret=client_secret, scope=scope)
    except InvalidClient as exc:
        from_thread.run(failures.failed, client_id, address)
        if basic is not None:
            raise _basic_challenge(exc) from None
        raise
