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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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


# One thread per process signs the receipts of large batches (OpenSSL releases the GIL for part of
# each signature, so it overlaps with answering the next items).
_SIGNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receipt-signer")
CHUNK = 500


class BatchSigner:
    """Receipts for many answers in order: `add(context, payload)` for each, then `finish()`;
    `signed(context, receipt, stored form)` is called for each in the order added.

    Large batches are signed a chunk at a time on the signer thread while the caller prepares the
    next chunk; the key (the keyring's active one) is fixed for the whole batch."""

    def __init__(self, signed: Callable[[Any, str, str], None], expected: int) -> None:
        self.signed = signed
        self.keyring = get_keyring()
        self.threaded = expected >= 2 * CHUNK
        self.pending: list[tuple[Any, bytes, bytes]] = []
        self.in_flight: tuple[list[tuple[Any, bytes, bytes]], Future[list[bytes]]] | None = None

    def add(self, context: Any, payload: dict[str, Any]) -> None:
        header, body = self.keyring.jws_input(payload)
        if not self.threaded:
            self._deliver([(context, header, body)], [self.keyring.signature(header, body)])
            return
        self.pending.append((context, header, body))
        if len(self.pending) >= CHUNK:
            self._submit()

    def finish(self) -> None:
        if self.pending:
            self._submit()
        self._complete()

    def _submit(self) -> None:
        chunk, self.pending = self.pending, []
        future = _SIGNER.submit(self._sign, [(header, body) for _, header, body in chunk])
        self._complete()
        self.in_flight = (chunk, future)

    def _complete(self) -> None:
        if self.in_flight is not None:
            chunk, future = self.in_flight
            self.in_flight = None
            self._deliver(chunk, future.result())

    def _sign(self, inputs: list[tuple[bytes, bytes]]) -> list[bytes]:
        return [self.keyring.signature(header, body) for header, body in inputs]

    def _deliver(self, chunk: list[tuple[Any, bytes, bytes]], signatures: list[bytes]) -> None:
        for (context, header, body), signature in zip(chunk, signatures, strict=True):
            self.signed(
                context,
                (header + b"." + body + b"." + signature).decode(),
                (header + b".." + signature).decode(),
            )


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
