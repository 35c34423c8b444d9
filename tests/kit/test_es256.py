"""ES256 in JWS form: unpadded base64url, and raw r||s signatures that verify against the public key."""

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.kit import es256


def test_b64url_is_unpadded_urlsafe_base64():
    for length in range(0, 70):
        raw = os.urandom(length)
        assert es256.b64url(raw) == base64.urlsafe_b64encode(raw).rstrip(b"=")
    assert es256.b64url(b"\xfb\xff\xbf") == b"-_-_"  # the two characters base64url changes


def test_signatures_verify_with_the_public_key():
    private = ec.generate_private_key(ec.SECP256R1())
    inputs = [(b"eyJhbGciOiJFUzI1NiJ9", es256.b64url(f'{{"n":{n}}}'.encode())) for n in range(5)]
    signatures = [es256.signature(private, header, body) for header, body in inputs]
    for (header, body), signature in zip(inputs, signatures, strict=True):
        raw = base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4))
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        private.public_key().verify(der, header + b"." + body, ec.ECDSA(hashes.SHA256()))


def test_verify_accepts_the_signature_and_nothing_else():
    private = ec.generate_private_key(ec.SECP256R1())
    header, body = b"eyJhbGciOiJFUzI1NiJ9", es256.b64url(b'{"n":1}')
    raw = es256.b64url_decode(es256.signature(private, header, body))
    assert es256.verify(private.public_key(), header + b"." + body, raw)
    assert not es256.verify(private.public_key(), header + b"." + body + b"x", raw)
    assert not es256.verify(private.public_key(), header + b"." + body, raw[:-1])
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not es256.verify(other, header + b"." + body, raw)
