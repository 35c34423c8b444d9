"""Creating clients, checking their credentials, issuing and reading access tokens."""

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.models import ApiClient
from app.auth.scopes import Scope
from app.catalog import service as catalog
from app.config import get_settings
from app.db import session_scope
from app.errors import InvalidClient, InvalidScope, NotFound, Unauthorized, ValidationFailed
from app.keys import get_keyring
from app.kit.clock import utcnow
from app.kit.signing import KeyRing, SignatureError

TOKEN_AUDIENCE = "registry-api"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API client acting for one agency, with the scopes its token carries."""

    client_id: str
    agency_code: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"client:{self.client_id}@{self.agency_code}"

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    agency: str
    scopes: list[str]


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_client(
    session: Session, *, agency_code: str, scopes: list[str], actor: str, label: str = ""
) -> NewClient:
    if not catalog.agency_exists(session, agency_code):
        raise NotFound(f"no agency with code {agency_code!r}")
    known = {scope.value for scope in Scope}
    unknown = [scope for scope in scopes if scope not in known]
    if unknown or not scopes:
        raise ValidationFailed.one(
            "scope", f"unknown or missing scopes {unknown}; choose from {sorted(known)}"
        )
    client_id = "cl_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    unique_scopes = sorted(set(scopes))
    client = ApiClient(
        id=uuid.uuid4(),
        client_id=client_id,
        secret_hash=_hash_secret(secret),
        agency_code=agency_code,
        scopes=unique_scopes,
        label=label,
        created_at=utcnow(),
    )
    session.add(client)
    session.flush()
    audit.append(
        session,
        actor,
        [
            audit.Event(
                "client.created", "client", client_id, {"agency": agency_code, "scopes": unique_scopes}
            )
        ],
    )
    return NewClient(client_id, secret, agency_code, unique_scopes)


def issue_token(
    session: Session, *, client_id: str, client_secret: str, scope: str | None
) -> dict[str, object]:
    client = session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    # Compare in constant time even for unknown clients, so timing does not reveal which ids exist.
    expected = client.secret_hash if client else _hash_secret(secrets.token_hex(16))
    if not hmac.compare_digest(expected, _hash_secret(client_secret)) or client is None or client.revoked_at:
        raise InvalidClient("unknown client or wrong secret")
    granted = set(client.scopes)
    requested = set(scope.split()) if scope else granted
    if not requested <= granted:
        raise InvalidScope(f"scopes not granted to this client: {sorted(requested - granted)}")
    settings = get_settings()
    # Real time, not the registry's clock: whoever checks the token's expiry does so in real time.
    now = datetime.now(UTC)
    claims = {
        "iss": settings.token_issuer,
        "aud": TOKEN_AUDIENCE,
        "sub": client.client_id,
        "agency": client.agency_code,
        "scope": " ".join(sorted(requested)),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_seconds)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return {
        "access_token": get_keyring().sign_jwt(claims),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_seconds,
        "scope": claims["scope"],
    }


# A revoked client's tokens stop working within this many seconds in every process.
CLIENT_STATUS_CACHE_SECONDS = 30.0
_client_status: dict[str, tuple[bool, float]] = {}


def cached_client_status(client_id: str) -> bool | None:
    """The client's status if known from the last CLIENT_STATUS_CACHE_SECONDS, else None."""
    cached = _client_status.get(client_id)
    if cached is not None and time.monotonic() - cached[1] < CLIENT_STATUS_CACHE_SECONDS:
        return cached[0]
    return None


def client_is_active(client_id: str) -> bool:
    """Whether the client may still use its tokens (a database read when the cache is stale: call it
    from a worker thread, never on the event loop)."""
    cached = cached_client_status(client_id)
    if cached is not None:
        return cached
    with session_scope(writing=False) as session:
        row = session.execute(select(ApiClient.revoked_at).where(ApiClient.client_id == client_id)).first()
    active = row is not None and row.revoked_at is None
    _client_status[client_id] = (active, time.monotonic())
    return active


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.created_at)))


def revoke_client(session: Session, client_id: str, actor: str) -> ApiClient:
    client = session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None:
        raise NotFound(f"no client {client_id}")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
        audit.append(session, actor, [audit.Event("client.revoked", "client", client_id, {})])
    _client_status.pop(client_id, None)
    return client


# Verified tokens, so that a client calling often pays for the ES256 verification once per token.
# Each is kept until its expiry or the end of its key's token window, whichever is sooner, and only
# with the keyring that verified it: a rotation or a key removed is seen at once. Revocation goes
# through client_is_active as before.
_VERIFIED_TOKENS_MAX = 10_000
_verified_tokens: dict[str, tuple[Principal, float, KeyRing]] = {}


def verify_token(token: str) -> Principal:
    """The principal of a validly signed, unexpired token (no database access)."""
    keyring = get_keyring()
    cached = _verified_tokens.get(token)
    if cached is not None:
        if cached[2] is keyring and time.time() < cached[1]:
            return cached[0]
        _verified_tokens.pop(token, None)
    settings = get_settings()
    try:
        claims, valid_until = keyring.verify_jwt(token, audience=TOKEN_AUDIENCE, issuer=settings.token_issuer)
    except SignatureError as exc:
        raise Unauthorized(f"invalid access token: {exc}") from None
    fields = [claims.get(name) for name in ("sub", "agency", "scope")]
    if not all(isinstance(value, str) and value for value in fields):
        raise Unauthorized("invalid access token: it needs the sub, agency and scope claims")
    principal = Principal(
        client_id=claims["sub"], agency_code=claims["agency"], scopes=frozenset(claims["scope"].split())
    )
    if len(_verified_tokens) >= _VERIFIED_TOKENS_MAX:
        _verified_tokens.clear()
    _verified_tokens[token] = (principal, valid_until, keyring)
    return principal


def principal_from_token(token: str) -> Principal:
    principal = verify_token(token)
    if not client_is_active(principal.client_id):
        raise Unauthorized("the client this token was issued to has been revoked")
    return principal
