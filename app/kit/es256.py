"""ES256 signatures as a compact JWS carries them (RFC 7518 §3.4), and the JWS base64url (RFC 7515 §2),
with `cryptography` alone.

The primitives under app.kit.signing, which is where JWSs are made and checked.
"""

import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

# The SHA-256 of the signing input is taken with hashlib and handed to OpenSSL prehashed: the same
# signature, without OpenSSL's per-call digest set-up (about a sixth of an ES256 signature's time).
_PREHASHED_SHA256 = ec.ECDSA(Prehashed(hashes.SHA256()))
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_STANDARD = bytes.maketrans(b"-_", b"+/")
_B64URL_TEXT = re.compile(rb"[A-Za-z0-9_-]*")


def b64url(raw: bytes) -> bytes:
    """Unpadded base64url (binascii and a byte translation: base64's own wrappers cost more)."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=")


def b64url_decode(text: str | bytes) -> bytes:
    """The bytes of unpadded base64url in its one canonical spelling; ValueError for anything else
    (padding, '+', '/', spaces, spare bits set), so that no character of a signed text can change
    while it still verifies."""
    encoded = text.encode("ascii") if isinstance(text, str) else text
    if not _B64URL_TEXT.fullmatch(encoded) or len(encoded) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = binascii.a2b_base64(encoded.translate(_STANDARD) + b"=" * (-len(encoded) % 4))
    if b64url(raw) != encoded:
        raise ValueError("not in canonical base64url")
    return raw


def signature(private: ec.EllipticCurvePrivateKey, header: bytes, body: bytes) -> bytes:
    """The base64url ES256 signature of `header.body`: the raw 32-byte r and s, not DER."""
    digest = hashlib.sha256(header + b"." + body).digest()
    r, s = decode_dss_signature(private.sign(digest, _PREHASHED_SHA256))
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify(public: ec.EllipticCurvePublicKey, signing_input: bytes, raw_signature: bytes) -> bool:
    """Whether `raw_signature` (r and s, 32 bytes each) is the key's ES256 signature of the input."""
    if len(raw_signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big")
    )
    try:
        public.verify(der, signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
