"""The one place where the registry signs and verifies: ES256 compact JWS (RFC 7515) over canonical
JSON, for access tokens, check receipts, report signatures and audit checkpoints; and its keys.

Keys come from REGISTRY_SIGNING_KEYS in production, or from `<data_dir>/keys/` in development (a key
is generated there on first start). Each key may name the instant it starts signing: a line
`Active from: <ISO 8601 instant>` before its PEM block, or the time in a key file's name. A rotation
names an instant a little ahead, so that every process already publishes and accepts the new key
when they all switch to it. The newest key already active signs; every key stays in the JWKS, so that
what an older key signed still verifies. Access tokens are stricter: a key verifies them only while
it signs them and for one token lifetime after it was replaced, so that an old key, should it leak,
cannot mint tokens.
"""

import hashlib
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.kit import es256
from app.kit.private import open_private

ALGORITHM = "ES256"
# A rotation's new key starts signing this long after `registry keys rotate`, by default: every
# process has seen the key file by then (files) / the operator restarts every process before (env).
FILE_ROTATION_DELAY_SECONDS = 5
ENV_ROTATION_DELAY_SECONDS = 600
# Servers' clocks differ a little: a token may say it was issued this many seconds in the future.
CLOCK_LEEWAY_SECONDS = 30

log = logging.getLogger("registry.signing")

b64url = es256.b64url
b64url_decode = es256.b64url_decode

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)
_ACTIVE_FROM = re.compile(r"^[ \t]*active from:[ \t]*(\S+)[ \t]*$", re.I | re.M)
_KEY_FILE_TIME = "%Y%m%dT%H%M%S%f"
_KEY_FILE = re.compile(r"signing-(\d{8}T\d{12})\.pem")


class SignatureError(ValueError):
    """Not a JWS this registry signed (malformed, another algorithm, an unknown key, a signature that
    does not verify), or an access token whose claims are refused. The message says which."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (orjson): the bytes receipts, reports and the audit chain sign and
    hash. Byte for byte what they always were, so that existing chains and receipts keep verifying."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, str]
    public_ec: ec.EllipticCurvePublicKey
    # None for a key given as its public key only: it verifies receipts, reports and checkpoints.
    private_ec: ec.EllipticCurvePrivateKey | None = None
    # The same private key as PEM, for the receipt signer process.
    private_pem: bytes | None = None
    # The instant (POSIX seconds) it starts signing; None: since ever.
    active_from: float | None = None


def load_key(pem: str, active_from: float | None = None) -> SigningKey:
    material = pem.encode()
    private: ec.EllipticCurvePrivateKey | None = None
    if "PRIVATE KEY" in pem:
        loaded = serialization.load_pem_private_key(material, password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError("signing keys must be EC P-256 (ES256)")
        private = loaded
        public = loaded.public_key()
    else:
        loaded_public = serialization.load_pem_public_key(material)
        if not isinstance(loaded_public, ec.EllipticCurvePublicKey):
            raise ValueError("signing keys must be EC P-256 (ES256)")
        public = loaded_public
    if public.curve.name != "secp256r1":
        raise ValueError("signing keys must be EC P-256 (ES256)")
    numbers = public.public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(numbers.x.to_bytes(32, "big")).decode(),
        "y": b64url(numbers.y.to_bytes(32, "big")).decode(),
    }
    # RFC 7638 thumbprint as the key id: stable, and derived from the key itself.
    kid = b64url(hashlib.sha256(canonical_json(members)).digest()).decode()
    return SigningKey(
        kid=kid,
        public_jwk=members | {"kid": kid, "alg": ALGORITHM, "use": "sig"},
        public_ec=public,
        private_ec=private,
        private_pem=material if private is not None else None,
        active_from=active_from,
    )


def public_key_from_jwk(jwk: dict[str, Any]) -> SigningKey:
    """A verify-only key from its JWK (as the JWKS and backups carry it)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not an ES256 (EC P-256) public key")
    x, y = (int.from_bytes(b64url_decode(str(jwk[name])), "big") for name in ("x", "y"))
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    return load_key(public_pem(public))


def public_pem(public: ec.EllipticCurvePublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def new_private_pem() -> str:
    private = ec.generate_private_key(ec.SECP256R1())
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class KeyRing:
    """The keys, newest first. The newest private key already active signs (if none is yet, the
    oldest); every key verifies receipts, reports and checkpoints; access tokens verify only with the
    keys `token_keys_until` allows. Public keys alone make a keyring that only verifies."""

    def __init__(self, keys: list[SigningKey], token_ttl: int) -> None:
        private = [key for key in keys if key.private_ec is not None]
        self.ordered = keys
        self.keys = {key.kid: key for key in keys}
        self.token_ttl = token_ttl
        self._private = private
        self._headers: dict[str, bytes] = {}
        # Until when each key verifies access tokens (POSIX seconds): for ever while no newer key
        # replaced it; one token lifetime past the instant the newer key took over; never when that
        # instant is unknown (a key listed after another without "Active from") or the key is given
        # as a public key only.
        self.token_keys_until: dict[str, float] = {}
        newer: SigningKey | None = None
        for key in keys:
            if key.private_ec is None:
                self.token_keys_until[key.kid] = -math.inf
                continue
            if newer is None:
                until = math.inf
            elif newer.active_from is None:
                until = -math.inf
            else:
                until = newer.active_from + token_ttl
            self.token_keys_until[key.kid] = until
            newer = key

    @property
    def active(self) -> SigningKey:
        """The key that signs now."""
        if not self._private:
            raise ValueError("no private key: these keys only verify")
        now = time.time()
        for key in self._private:
            if key.active_from is None or key.active_from <= now:
                return key
        return self._private[-1]

    def jws_input(self, payload: Any, key: SigningKey | None = None) -> tuple[bytes, bytes]:
        """The header and payload segments of a compact JWS over the canonical JSON of `payload`, for
        `key` (by default the active one): what the signature covers."""
        key = key or self.active
        header = self._headers.get(key.kid)
        if header is None:
            header = b64url(canonical_json({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}))
            self._headers[key.kid] = header
        return header, b64url(canonical_json(payload))

    def sign_jws(self, payload: Any, key: SigningKey | None = None) -> str:
        """A compact JWS (ES256) over the canonical JSON of `payload`, by the active key."""
        key = key or self.active
        assert key.private_ec is not None
        header, body = self.jws_input(payload, key)
        return (header + b"." + body + b"." + es256.signature(key.private_ec, header, body)).decode()

    # An access token is a JWS whose payload is its claims (RFC 7519).
    sign_jwt = sign_jws

    def verify_jws(self, token: str) -> Any:
        """The payload of a compact JWS signed by any of these keys; raises SignatureError."""
        _, payload = self._verified(token)
        return _json(payload, "payload")

    def verify_jwt(
        self, token: str, *, audience: str, issuer: str, now: float | None = None
    ) -> tuple[dict[str, Any], float]:
        """The claims of a valid access token, and until when they stay valid (its expiry, or the end
        of its key's token window if sooner). Refused: a key that may no longer sign tokens, a token
        without `aud`, `iss`, `iat` or `exp`, of another audience or issuer, issued in the future, or
        living longer than the configured token lifetime. Raises SignatureError."""
        now = time.time() if now is None else now
        key, payload = self._verified(token)
        key_until = self.token_keys_until[key.kid]
        if now >= key_until:
            raise SignatureError("its key was rotated out and no longer verifies access tokens")
        claims = _json(payload, "claims")
        if not isinstance(claims, dict):
            raise SignatureError("its claims are not a JSON object")
        missing = [name for name in ("aud", "iss", "iat", "exp") if name not in claims]
        if missing:
            raise SignatureError(f"it lacks the {', '.join(missing)} claim{'s' if len(missing) > 1 else ''}")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in audiences:
            raise SignatureError("it is meant for another audience")
        if claims["iss"] != issuer:
            raise SignatureError("it was issued by someone else")
        issued, expires = claims["iat"], claims["exp"]
        if not all(type(value) in (int, float) for value in (issued, expires)):
            raise SignatureError("its iat and exp must be numbers (seconds since 1970)")
        if issued > now + CLOCK_LEEWAY_SECONDS:
            raise SignatureError("it was issued in the future")
        if expires - issued > self.token_ttl:
            raise SignatureError(f"it lives longer than tokens may ({self.token_ttl} seconds)")
        if "nbf" in claims and not (
            type(claims["nbf"]) in (int, float) and claims["nbf"] <= now + CLOCK_LEEWAY_SECONDS
        ):
            raise SignatureError("it is not valid yet")
        if expires <= now:
            raise SignatureError("the token has expired")
        return claims, min(float(expires), key_until)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk for key in self.ordered]}

    def _verified(self, token: str) -> tuple[SigningKey, bytes]:
        """The key that signed a compact JWS, and its payload."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise SignatureError("not a compact JWS")
        header_b64, payload_b64, signature_b64 = token.split(".")
        try:
            header = _json(b64url_decode(header_b64), "header")
            signature, payload = b64url_decode(signature_b64), b64url_decode(payload_b64)
        except ValueError as exc:
            raise SignatureError(f"not a compact JWS ({exc})") from None
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise SignatureError(f"only {ALGORITHM} is accepted")
        if "crit" in header:  # RFC 7515 §4.1.11: extensions we do not understand are refused
            raise SignatureError("unsupported critical header")
        key = self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise SignatureError("signed by an unknown key")
        if not es256.verify(key.public_ec, f"{header_b64}.{payload_b64}".encode("ascii"), signature):
            raise SignatureError("the signature does not verify")
        return key, payload


def _json(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SignatureError(f"its {what} is not JSON") from None


# --- Where the keys come from --------------------------------------------------------------------


def _instant(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"'Active from: {text}' needs a time zone (e.g. 2026-12-06T10:00:00Z)")
    return moment.timestamp()


def iso_instant(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def keys_from_text(text: str) -> list[SigningKey]:
    """REGISTRY_SIGNING_KEYS: PEM blocks, newest first, each perhaps preceded by `Active from: <instant>`
    (other text between blocks is ignored, as PEM allows)."""
    keys, end = [], 0
    for block in _PEM_BLOCK.finditer(text):
        labels = _ACTIVE_FROM.findall(text[end : block.start()])
        keys.append(load_key(block.group(0), _instant(labels[-1]) if labels else None))
        end = block.end()
    return keys


def _file_instant(path: Path) -> float | None:
    match = _KEY_FILE.fullmatch(path.name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _KEY_FILE_TIME).replace(tzinfo=UTC).timestamp()


def keys_from_directory(directory: Path) -> list[SigningKey]:
    """`signing-<instant>.pem` (private keys, signing from the instant in their name), newest first,
    then `public-*.pem` (public keys only: what a restore brings back from a backup)."""
    signing = sorted(directory.glob("signing-*.pem"), reverse=True)
    public = sorted(directory.glob("public-*.pem"))
    return [load_key(path.read_text(), _file_instant(path)) for path in signing + public]


def generate_key_file(directory: Path, active_from: float | None = None) -> Path:
    """A new private key in `directory`, signing from `active_from` (default: now)."""
    moment = datetime.fromtimestamp(time.time() if active_from is None else active_from, UTC)
    path = directory / f"signing-{moment.strftime(_KEY_FILE_TIME)}.pem"
    _write_key_file(path, new_private_pem())
    return path


def _write_key_file(path: Path, pem: str) -> None:
    """Written whole under another name, then renamed: a running process never reads half a key.
    Mode 600 from the start, so that the key is never readable by others, not even briefly."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with open_private(partial, "w") as handle:
        handle.write(pem)
    os.replace(partial, path)


def rotated_keys_text(current: str, active_from: float) -> str:
    """The next value of REGISTRY_SIGNING_KEYS: a new key, signing from `active_from`, before the
    current keys, which stay (their receipts, reports and, for one token lifetime, tokens verify)."""
    return f"Active from: {iso_instant(active_from)}\n{new_private_pem()}\n{current.strip()}\n"


def jwks_verifier(jwks: dict[str, Any]) -> Callable[[str], Any]:
    """`verify_jws` with the keys of a published JWKS, as anyone verifying the registry's receipts,
    reports or checkpoints does it (public keys only)."""
    return KeyRing([public_key_from_jwk(jwk) for jwk in jwks.get("keys", [])], 0).verify_jws
