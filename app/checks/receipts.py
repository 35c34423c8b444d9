"""Check receipts: a compact JWS (ES256) an approver keeps and anyone verifies offline with the JWKS.

The payload names the check, the subject, the action, the decision, the time, and the registry's
state the decision rests on: a digest of the records in force for the subject (id, version, dispute
flag) and of the rule versions in force that day.
"""

from typing import Any

from app.config import get_settings
from app.kit.signing import get_keyring

RECEIPT_TYPE = "registry-check-receipt"


def receipt_payload(
    answer: dict[str, Any], agency: str, state_digest: str, rules_digest: str
) -> dict[str, Any]:
    return {
        "typ": RECEIPT_TYPE,
        "iss": get_settings().token_issuer,
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


def sign(payload: dict[str, Any]) -> str:
    return get_keyring().sign_compact(payload)


def verify(receipt: str) -> dict[str, Any]:
    """The payload of a receipt signed by any of the registry's keys; raises jose.JWSError."""
    return get_keyring().verify_jws(receipt)
