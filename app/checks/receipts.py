"""Check receipts: a compact JWS (ES256) an approver keeps and anyone verifies offline with the JWKS.

The payload names the check, the subject, the action, the decision, the time, and the registry's
state the decision rests on: a digest of the records in force for the subject (id, version, dispute
flag) and of the rule versions in force that day.

A check row stores its receipt with the payload detached (RFC 7515 Appendix F: `header..signature`):
every claim is already in the row (the answer, the agency, the state digest, the rules digest and
the issuer), so the payload is rebuilt on read, byte for byte (canonical JSON: sorted keys), and the
receipt read back is the one that was answered. Rows stored before carry the whole JWS.
"""

import base64
from typing import Any

import orjson

from app.kit.signing import get_keyring

RECEIPT_TYPE = "registry-check-receipt"


def receipt_payload(
    answer: dict[str, Any], agency: str, state_digest: str, rules_digest: str, issuer: str
) -> dict[str, Any]:
    return {
        "typ": RECEIPT_TYPE,
        "iss": issuer,
        "check_id": answer["id"],
        "agency": agency,
        "subject": answer["identifier"],
        "found": answer["found"],
        "action": answer["action"],
        "decision": answer["decision"],
        "measures": [m["code"] for m in answer["measures"]],
        "incentives": [m["code"] for m in answer["incentives"]],
        "as_of": answer["as_of"],
        "checked_at": answer["checked_at"],
        "state": {"digest": state_digest, "rules": rules_digest},
    }


def sign(payload: dict[str, Any]) -> tuple[str, str]:
    """The receipt (a compact JWS) and the form it is stored in (its payload detached)."""
    header, body, signature = get_keyring().sign_parts(payload)
    return (header + b"." + body + b"." + signature).decode(), (header + b".." + signature).decode()


def attach(stored: str, payload: dict[str, Any]) -> str:
    """The receipt from its stored form and the payload rebuilt from the check's row; a receipt
    stored whole is returned as it is."""
    header, body, signature = stored.split(".")
    if body:
        return stored
    raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return f"{header}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def verify(receipt: str) -> dict[str, Any]:
    """The payload of a receipt signed by any of the registry's keys; raises jose.JWSError."""
    return get_keyring().verify_jws(receipt)
