"""The registry's signing keys (ES256): access tokens, check receipts and report digests.

Keys come from REGISTRY_SIGNING_KEYS in production, or are generated into `<data_dir>/keys/` on first
start for the embedded default. The newest key signs; every key stays in the JWKS so that what an
older key signed can still be verified after a rotation.
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws, jwt
from jose.backends.base import Key

from app.config import Settings, get_settings
from app.kit import es256

ALGORITHM = "ES256"
# The one algorithm any token or receipt may name; "none" and HS* are refused by construction.
ALLOWED_ALGORITHMS = [ALGORITHM]
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.S)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, str]
    public_key: Key
    private_key: Key | None
    # The same private key as a `cryptography` object: signing with it directly costs a fraction of
    # python-jose's per-call overhead, and yields the same standard compact JWS. And as PEM, for the
    # receipt signer process.
    private_ec: ec.EllipticCurvePrivateKey | None = None
    private_pem: bytes | None = None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _load_key(pem: str) -> SigningKey:
    material = pem.encode()
    private_key: Key | None = None
    private_ec: ec.EllipticCurvePrivateKey | None = None
    if "PRIVATE KEY" in pem:
        private = serialization.load_pem_private_key(material, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
            raise ValueError("signing keys must be EC P-256 (ES256)")
        private_key = jwk.construct(pem, ALGORITHM)
        private_ec = private
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        public_pem = material
    public_key = jwk.construct(public_pem.decode(), ALGORITHM)
    public = public_key.to_dict()
    # RFC 7638 thumbprint as the key id: stable, and derived from the key itself.
    thumbprint_input = json.dumps(
        {"crv": public["crv"], "kty": public["kty"], "x": public["x"], "y": public["y"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    kid = _b64url(hashlib.sha256(thumbprint_input.encode()).digest())
    public_jwk = {"kty": "EC", "crv": public["crv"], "x": public["x"], "y": public["y"]}
    public_jwk |= {"kid": kid, "alg": ALGORITHM, "use": "sig"}
    return SigningKey(
        kid=kid,
        public_jwk=public_jwk,
        public_key=public_key,
        private_key=private_key,
        private_ec=private_ec,
        private_pem=material if private_ec is not None else None,
    )


def generate_key_file(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"signing-{stamp}.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


class KeyRing:
    def __init__(self, pems: list[str]) -> None:
        if not pems:
            raise ValueError("no signing keys")
        keys = [_load_key(pem) for pem in pems]
        if keys[0].private_key is None:
            raise ValueError("the first signing key must be a private key")
        self.active = keys[0]
        self.keys = {key.kid: key for key in keys}
        self._headers: dict[str, bytes] = {}

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        assert self.active.private_key is not None
        return jwt.encode(
            claims, self.active.private_key, algorithm=ALGORITHM, headers={"kid": self.active.kid}
        )

    def verify_jwt(self, token: str, *, audience: str, issuer: str) -> dict[str, Any]:
        """Claims of a valid token; raises jose.JWTError (bad, expired, unknown key, wrong alg)."""
        key = self._key_for(token)
        return jwt.decode(token, key, algorithms=ALLOWED_ALGORITHMS, audience=audience, issuer=issuer)

    def sign_jws(self, payload: dict[str, Any]) -> str:
        assert self.active.private_key is not None
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return jws.sign(
            body.encode(), self.active.private_key, algorithm=ALGORITHM, headers={"kid": self.active.kid}
        )

    def jws_input(self, payload: dict[str, Any]) -> tuple[bytes, bytes]:
        """The header and payload segments of a compact JWS (RFC 7515, ES256) over canonical JSON
        (sorted keys): the hot path's receipts, signed with `cryptography` directly (app.kit.es256) and
        verifiable like any other (verify_jws, python-jose, the JWKS)."""
        return self._header_b64, es256.b64url(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))

    @property
    def _header_b64(self) -> bytes:
        header = self._headers.get(self.active.kid)
        if header is None:
            raw = orjson.dumps(
                {"alg": ALGORITHM, "kid": self.active.kid, "typ": "JWT"}, option=orjson.OPT_SORT_KEYS
            )
            header = self._headers[self.active.kid] = es256.b64url(raw)
        return header

    def verify_jws(self, token: str) -> dict[str, Any]:
        """Payload of a valid compact JWS signed by any of our keys; raises jose.JWSError."""
        key = self._key_for(token)
        return dict(json.loads(jws.verify(token, key, algorithms=ALLOWED_ALGORITHMS)))

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk for key in self.keys.values()]}

    def _key_for(self, token: str) -> Key:
        header = jws.get_unverified_header(token)
        key = self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise jws.JWSError("unknown key id")
        return key.public_key


def keyring_from_settings(settings: Settings) -> KeyRing:
    if settings.signing_keys:
        return KeyRing(_PEM_BLOCK.findall(settings.signing_keys))
    directory = settings.data_dir / "keys"
    files = sorted(directory.glob("signing-*.pem")) if directory.exists() else []
    if not files:
        files = [generate_key_file(directory)]
    # Newest first: it signs; the older ones still verify.
    return KeyRing([path.read_text() for path in reversed(files)])


@lru_cache
def get_keyring() -> KeyRing:
    return keyring_from_settings(get_settings())
