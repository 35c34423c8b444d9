"""Query codes: what a member of the public holds instead of an account (a repair or objection case,
a notice before listing). The code is shown once; the registry keeps only its SHA-256."""

import base64
import hashlib
import secrets


def new_query_code() -> str:
    # 80 random bits in RFC 4648 base32, grouped for reading aloud: XXXX-XXXX-XXXX-XXXX.
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def hash_query_code(code: str) -> str:
    """The stored form: case, dashes and spaces do not matter to the person typing it back."""
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()
