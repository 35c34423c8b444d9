"""Receipts verify offline with the published JWKS (python-jose), and a tampered one does not."""

import base64
import json

import pytest
from jose import jws
from jose.exceptions import JWSError

from tests.checks.helpers import approver, check, push


def _jwks_key(http, receipt):
    kid = jws.get_unverified_header(receipt)["kid"]
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    return next(key for key in keys if key["kid"] == kid)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_receipt_verifies_with_the_jwks_and_names_the_decision(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    answer = check(http, approver_headers, 1, "administrative_license")
    receipt = answer["receipt"]
    assert jws.get_unverified_header(receipt)["alg"] == "ES256"
    payload = json.loads(jws.verify(receipt, _jwks_key(http, receipt), algorithms=["ES256"]))
    assert payload["check_id"] == answer["id"]
    assert payload["subject"] == answer["identifier"]
    assert payload["action"] == "administrative_license" and payload["decision"] == "restrict"
    assert payload["checked_at"] == answer["checked_at"]
    assert payload["measures"] == ["restrict_market_access_and_licensing", "strict_review_of_licensing"]
    assert len(payload["state"]["digest"]) == 64 and len(payload["state"]["rules"]) == 64


def test_a_tampered_receipt_fails(http, token_for):
    approver_headers = approver(token_for)
    receipt = check(http, approver_headers, 5, "financing")["receipt"]
    header, body, signature = receipt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload["decision"] == "clear"
    forged = _b64(json.dumps(payload | {"decision": "incentive"}).encode())
    key = _jwks_key(http, receipt)
    with pytest.raises(JWSError):
        jws.verify(f"{header}.{forged}.{signature}", key, algorithms=["ES256"])
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(JWSError):
        jws.verify(f"{header}.{body}.{flipped}", key, algorithms=["ES256"])


def test_the_records_state_changes_the_receipts_digest(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1)

    def digest() -> str:
        receipt = check(http, approver_headers, 1, "financing")["receipt"]
        return json.loads(jws.get_unverified_claims(receipt))["state"]["digest"]

    first = digest()
    assert digest() == first
    http.patch(f"/v1/records/{record['id']}", json={"conduct": "更正"}, headers=police | {"If-Match": "1"})
    assert digest() != first
