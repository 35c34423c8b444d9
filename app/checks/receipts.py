"""Check receipts: what an approver keeps and anyone verifies offline with the JWKS
(/.well-known/jwks.json).

Every receipt covers the same payload, canonical JSON (sorted keys) of: the check, the subject, the
action, the decision and its measures, the approver's reference, the time, and the registry's state
the decision rests on (a digest of the subject's records in force, with version and dispute flag,
and of the rule versions in force that day).

- A single check's receipt is a compact JWS (ES256) over that payload (format 2).
- A batch signs once (format 3): the payloads are the leaves of a Merkle tree (app.kit.merkle,
  RFC 9162's), the root is signed in a compact JWS (`typ` registry-check-batch, `root`, `size`), and
  each item's receipt is `<root JWS>~<payload>~<index>~<proof>`: the payload in base64url, the
  item's place in the batch, and the sibling hashes from its leaf to the root (32 bytes each,
  concatenated, base64url). Verifying one receipt needs nothing but it and the JWKS: check the root
  JWS, hash the payload as a leaf, climb with the proof, and compare with the signed root.

Stored check rows keep their receipt with the payload detached: every claim of the payload is in
the row, and it is rebuilt on read, byte for byte. A single check's row keeps `header..signature`.
A batch's rows keep `batch:<batch id>:<index>`, and the batch's signed root and leaf hashes are
kept once (app.checks.models.CheckBatch): the proof is computed from the leaves on read. The id is
chosen before anything is signed, so that a batch's rows can be written while later items are still
being decided. (Rows written before name the batch by its root, `batch:<root>:<index>`; before that
they kept `<root JWS>~~<index>~<proof>`.) Format 1 (rows stored before the reference was
signed) is rebuilt without it.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from app.keys import get_keyring
from app.kit import es256, merkle
from app.kit.signing import b64url, b64url_decode, canonical_json

RECEIPT_TYPE = "registry-check-receipt"
# What `verify` accepts as a receipt: a check's, and a screening's (app.screening, signed the same
# way); not the other things the same key signs (access tokens, audit checkpoints).
RECEIPT_TYPES = (RECEIPT_TYPE, "registry-screening-receipt")
BATCH_TYPE = "registry-check-batch"
SINGLE_FORMAT = 2  # one JWS per check; format 1 (before) did not sign the reference
BATCH_FORMAT = 3  # a Merkle proof and the batch's signed root
RECEIPT_FORMAT = SINGLE_FORMAT
SEPARATOR = "~"
STORED_BATCH = "batch:"  # a batch row's stored receipt: batch:<batch id>:<index>


class ReceiptInvalid(ValueError):
    """A receipt that does not verify; str() says which part failed."""


def receipt_payload(
    answer: dict[str, Any],
    agency: str,
    state_digest: str,
    rules_digest: str,
    issuer: str,
    receipt_format: int = SINGLE_FORMAT,
) -> dict[str, Any]:
    payload = {
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
    if receipt_format >= 2:
        payload |= {"format": receipt_format, "reference": answer["reference"]}
    return payload


class Signed:
    """A receipt as sent (bytes) and as stored (its payload detached)."""

    __slots__ = ("receipt", "stored")

    def __init__(self, receipt: bytes, stored: str) -> None:
        self.receipt, self.stored = receipt, stored


def sign_one(payload: dict[str, Any]) -> Signed:
    """A compact JWS (ES256) over the payload, signed with `cryptography` directly (app.kit.es256)."""
    keyring = get_keyring()
    key = keyring.active
    assert key.private_ec is not None
    header, body = keyring.jws_input(payload)
    signature = es256.signature(key.private_ec, header, body)
    return Signed(header + b"." + body + b"." + signature, (header + b".." + signature).decode())


class BatchRoot(NamedTuple):
    """What a batch's receipts share, kept once (app.checks.models.CheckBatch)."""

    root: str  # the root hash, unpadded base64url
    signed_root: str  # the compact JWS over it
    leaves: bytes  # the leaf hashes in order, 32 bytes each
    size: int
    key: str  # the batch's id, as its rows' stored receipts name it


def stored_in_batch(key: str, index: int) -> str:
    """The stored receipt of a batch's item: its batch and place (known before the batch is signed)."""
    return f"{STORED_BATCH}{key}:{index}"


def sign_batch(payloads: list[dict[str, Any]], issuer: str, key: str) -> tuple[list[bytes], BatchRoot | None]:
    """One signature over a Merkle tree of the payloads; each receipt its proof and the signed root.
    The items' stored forms are `stored_in_batch(key, index)`; the batch's shared parts are
    returned to be kept once under `key`."""
    if not payloads:
        return [], None
    encoded = [canonical_json(payload) for payload in payloads]
    leaves = [merkle.leaf_hash(item) for item in encoded]
    root, proofs = merkle.root_and_proofs(leaves)
    root_b64 = _b64(root)
    root_jws = get_keyring().sign_jws(
        {"typ": BATCH_TYPE, "iss": issuer, "alg": "sha256", "root": root_b64, "size": len(encoded)}
    )
    signed = [
        SEPARATOR.join((root_jws, _b64(item), str(index), _b64(b"".join(proof)))).encode()
        for index, (item, proof) in enumerate(zip(encoded, proofs, strict=True))
    ]
    return signed, BatchRoot(root_b64, root_jws, b"".join(leaves), len(encoded), key)


BatchLookup = Callable[[str], BatchRoot | None]


def attach(stored: str, payload: dict[str, Any], batch_of: BatchLookup | None = None) -> str:
    """The receipt from its stored form and the payload rebuilt from the check's row (a batch row's
    proof from its batch's leaves, found with `batch_of`); a receipt stored whole is returned as it
    is."""
    body = _b64(canonical_json(payload))
    if stored.startswith(STORED_BATCH):
        key, _, index_text = stored.removeprefix(STORED_BATCH).rpartition(":")
        batch = batch_of(key) if batch_of is not None else None
        if batch is None:
            raise ReceiptInvalid(f"the batch {key} this receipt belongs to is not stored")
        size = merkle.HASH_SIZE
        leaves = [batch.leaves[i : i + size] for i in range(0, len(batch.leaves), size)]
        path = _b64(b"".join(merkle.proof_of(leaves, int(index_text))))
        return SEPARATOR.join((batch.signed_root, body, index_text, path))
    if SEPARATOR in stored:
        root_jws, detached, index, path = stored.split(SEPARATOR)
        return stored if detached else SEPARATOR.join((root_jws, body, index, path))
    header, detached, signature = stored.split(".")
    return stored if detached else f"{header}.{body}.{signature}"


JwsVerifier = Callable[[str], Any]


def verify(receipt: str, verify_jws: JwsVerifier | None = None) -> dict[str, Any]:
    """The payload of a receipt the registry signed, of either format; raises ReceiptInvalid.
    `verify_jws` checks a compact JWS and returns its payload: by default with the registry's own
    keys; `jwks_verifier` (app.kit.signing) makes one from a published JWKS, for verifying anywhere."""
    check = verify_jws or (lambda token: get_keyring().verify_jws(token))
    if SEPARATOR not in receipt:
        payload = _verified_jws(receipt, "the receipt", check)
        # The same key signs access tokens and audit checkpoints: signed is not enough.
        if payload.get("typ") not in RECEIPT_TYPES:
            raise ReceiptInvalid("signed by the registry, but not a check or screening receipt")
        return payload
    parts = receipt.split(SEPARATOR)
    if len(parts) != 4:
        raise ReceiptInvalid("a batch receipt has four parts: root~payload~index~proof")
    root_jws, body, index_text, path = parts
    claims = _verified_jws(root_jws, "the batch's signed root", check)
    if claims.get("typ") != BATCH_TYPE or claims.get("alg") != "sha256":
        raise ReceiptInvalid("the signed root is not a batch of check receipts")
    try:
        item, proof = _unb64(body), _unb64(path)
        index, size, root = int(index_text), int(claims["size"]), _unb64(str(claims["root"]))
    except (ValueError, KeyError):
        raise ReceiptInvalid("the payload, index or proof is malformed") from None
    # The index exactly as the registry writes it (ASCII digits, no leading zero): one receipt has one
    # spelling, so that an altered byte anywhere is a receipt that does not verify.
    if not (index_text.isascii() and index_text.isdigit()) or index_text != str(index):
        raise ReceiptInvalid("the index is malformed")
    if len(proof) % merkle.HASH_SIZE:
        raise ReceiptInvalid("the proof is malformed")
    steps = [proof[i : i + merkle.HASH_SIZE] for i in range(0, len(proof), merkle.HASH_SIZE)]
    try:
        climbed = merkle.root_from_proof(merkle.leaf_hash(item), index, size, steps)
    except ValueError as exc:
        raise ReceiptInvalid(f"the proof does not fit the batch: {exc}") from None
    if climbed != root:
        raise ReceiptInvalid("the payload is not the one the batch's root was signed over")
    try:
        payload = orjson.loads(item)
    except orjson.JSONDecodeError:
        raise ReceiptInvalid("the payload is not JSON") from None
    if canonical_json(payload) != item or payload.get("typ") != RECEIPT_TYPE:
        raise ReceiptInvalid("the payload is not a check receipt in canonical form")
    return dict(payload)


def _verified_jws(token: str, what: str, check: JwsVerifier) -> dict[str, Any]:
    segments = token.split(".")
    try:
        if len(segments) != 3:
            raise ValueError("a compact JWS has three segments")
        for segment in segments:
            _unb64(segment)  # each in its one canonical spelling (no padding, no spare bits set)
        return dict(check(token))
    except Exception as exc:  # the signing module's own error, whatever its kind
        raise ReceiptInvalid(f"{what} does not verify: {exc}") from None


def _b64(raw: bytes) -> str:
    return b64url(raw).decode()


def _unb64(text: str) -> bytes:
    """Strict unpadded base64url: any other spelling of the same bytes is refused, so that no
    character of a receipt can change while it still verifies."""
    return b64url_decode(text)
