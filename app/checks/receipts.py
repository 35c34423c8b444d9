"""Check receipts: a compact JWS (ES256) an approver keeps and anyone verifies offline with the JWKS.

The payload names the check, the subject, the action, the decision, the time, and the registry's
state the decision rests on: a digest of the records in force for the subject (id, version, dispute
flag) and of the rule versions in force that day.

A check row stores its receipt with the payload detached (RFC 7515 Appendix F: `header..signature`):
every claim is already in the row (the answer, the agency, the state digest, the rules digest and
the issuer), so the payload is rebuilt on read, byte for byte (canonical JSON: sorted keys), and the
receipt read back is the one that was answered. Rows stored before carry the whole JWS.
"""

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.kit import es256
from app.kit.signing import b64url, canonical_json, get_keyring

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


# Receipts of a large batch are signed in a helper process while this process answers (BatchSigner):
# the signatures are most of a batch's CPU, and on a thread they would contend with the answering for
# the interpreter lock (measured: answering and signing took 1.0 s with a thread, 0.66 s with a
# process, for 10,000). The helper is a fresh interpreter (spawn) that imports only app.kit.es256; it
# starts on first need and lives as long as this process. The active key goes with each hand-over,
# as PEM over the pipe to the helper, so a rotation needs nothing more. Should the helper die, the
# rest of the batch is signed here and the next large batch starts a new helper.
HELPER_FROM = 1000  # a batch this large uses the helper; a smaller one is signed here
# Items handed over at once: at least STEP (a hand-over costs about what a few signatures do), at
# most MOST (the helper's last hand-over is what this process may have to wait for at the end).
STEP, MOST = 100, 500
_helper: ProcessPoolExecutor | None = None
_helper_lock = threading.Lock()


def signer_helper() -> ProcessPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=es256.exit_with_parent,
                initargs=(os.getpid(),),
            )
        return _helper


def stop_signer_helper() -> None:
    """On shutdown: the helper stopped, whatever it was doing (it also exits by itself should this
    process die without stopping it)."""
    with _helper_lock:
        helper = _helper
    if helper is None:
        return
    # The executor's own shutdown asks its process to stop once it reads a sentinel (seen not to,
    # now and then, after an earlier helper was killed); terminating it too leaves no doubt.
    processes = list((getattr(helper, "_processes", None) or {}).values())
    _retire(helper)
    for process in processes:
        process.terminate()


def _retire(helper: ProcessPoolExecutor) -> None:
    global _helper
    with _helper_lock:
        if _helper is helper:
            _helper = None
    helper.shutdown(wait=False, cancel_futures=True)


Inputs = list[tuple[bytes, bytes]]
InFlight = tuple[list[tuple[Any, bytes, bytes]], ProcessPoolExecutor, Future[list[bytes]]]


class BatchSigner:
    """Receipts for many answers: `add(context, payload)` for each, then `finish()`;
    `signed(context, receipt, stored form)` is called once for each (the receipt as bytes, the stored
    form as text), not necessarily in the order added: the context says which answer it is.

    A large batch hands the oldest pending items to the helper process whenever the helper is free
    (STEP to MOST at a time), so the helper signs while the caller answers. At the end, what is
    left is signed from both ends: the helper takes the older half of it, a hand-over at a time,
    while this process signs from the newest end. The key (the keyring's active one) is fixed for
    the whole batch."""

    def __init__(self, signed: Callable[[Any, bytes, str], None], expected: int) -> None:
        self.signed = signed
        self.keyring = get_keyring()
        self.key = self.keyring.active
        assert self.key.private_ec is not None
        self.private = self.key.private_ec
        self.in_helper = expected >= HELPER_FROM and self.key.private_pem is not None
        self.pending: list[tuple[Any, bytes, bytes]] = []
        self.in_flight: InFlight | None = None

    def add(self, context: Any, payload: dict[str, Any]) -> None:
        header, body = self.keyring.jws_input(payload, self.key)
        if not self.in_helper:
            self._sign_here([(context, header, body)])
            return
        self.pending.append((context, header, body))
        if len(self.pending) >= STEP and self._helper_free():
            self._complete()
            self._hand_over(min(len(self.pending), MOST))

    def finish(self) -> None:
        while self.pending or self.in_flight is not None:
            if self._helper_free():
                self._complete()
                if self.in_helper and len(self.pending) >= STEP:
                    self._hand_over(min(len(self.pending) // 2, MOST))
            if self.pending:
                self._sign_here([self.pending.pop()])
            else:
                self._complete()  # the helper's last hand-over, waited for

    def _helper_free(self) -> bool:
        return self.in_flight is None or self.in_flight[2].done()

    def _hand_over(self, count: int) -> None:
        """The oldest `count` pending items to the (free) helper."""
        chunk, self.pending = self.pending[:count], self.pending[count:]
        helper = signer_helper()
        assert self.key.private_pem is not None
        try:
            future = helper.submit(es256.signatures, self.key.private_pem, _inputs(chunk))
        except BrokenProcessPool:  # the helper died since the last hand-over
            self._helper_failed(helper, chunk)
            return
        self.in_flight = (chunk, helper, future)

    def _complete(self) -> None:
        """Deliver the helper's signatures, waiting for them if need be."""
        if self.in_flight is None:
            return
        chunk, helper, future = self.in_flight
        self.in_flight = None
        try:
            signatures = future.result()
        except BrokenProcessPool:
            self._helper_failed(helper, chunk)
            return
        self._deliver(chunk, signatures)

    def _helper_failed(self, helper: ProcessPoolExecutor, chunk: list[tuple[Any, bytes, bytes]]) -> None:
        """The chunk and the rest of the batch signed here; the next large batch starts a new helper."""
        _retire(helper)
        self.in_helper = False
        self._sign_here(chunk)

    def _sign_here(self, items: list[tuple[Any, bytes, bytes]]) -> None:
        self._deliver(items, [es256.signature(self.private, header, body) for _, header, body in items])

    def _deliver(self, chunk: list[tuple[Any, bytes, bytes]], signatures: list[bytes]) -> None:
        for (context, header, body), signature in zip(chunk, signatures, strict=True):
            receipt = header + b"." + body + b"." + signature
            self.signed(context, receipt, (header + b".." + signature).decode())


def _inputs(chunk: list[tuple[Any, bytes, bytes]]) -> Inputs:
    return [(header, body) for _, header, body in chunk]


def attach(stored: str, payload: dict[str, Any]) -> str:
    """The receipt from its stored form and the payload rebuilt from the check's row; a receipt
    stored whole is returned as it is."""
    header, body, signature = stored.split(".")
    if body:
        return stored
    return f"{header}.{b64url(canonical_json(payload)).decode()}.{signature}"


def verify(receipt: str) -> dict[str, Any]:
    """The payload of a receipt signed by any of the registry's keys; raises SignatureError."""
    return get_keyring().verify_jws(receipt)
