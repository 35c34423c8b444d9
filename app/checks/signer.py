"""Receipt signatures for a batch, made on both CPU cores: a helper process signs while we answer.

An ES256 signature costs about 30 µs of OpenSSL arithmetic that holds the GIL; a batch of 10,000
checks spent a third of its time on them. A batch's signatures are therefore made by a child process
(`python -m app.checks.signer`) from the SHA-256 of each receipt's signing input (32 bytes in, the
raw 64-byte r||s out, per receipt), one chunk at a time, while this process answers the next chunk.
The child gets the active private key on its stdin at start and ends when its stdin closes (with
this process). One batch at a time uses it; a batch that finds it busy, a small batch, and any batch
after the helper failed sign in this process. The signatures are the same ECDSA signatures either
way (the JWS header names the same key).
"""

import contextlib
import hashlib
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))
# Batches smaller than this sign in-process (starting the helper, or a round trip, costs more).
MIN_BATCH = 1000


def raw_signature(private: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    r, s = decode_dss_signature(private.sign(digest, _PREHASHED))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("signer stream closed")
    return data


class Helper:
    """The parent's side: one child process, one outstanding chunk at a time."""

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.checks.signer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.stdin.write(struct.pack("<I", len(pem)) + pem)
        self.stdin.flush()
        self.lock = threading.Lock()
        self.outstanding = 0

    def submit(self, digests: list[bytes]) -> None:
        self.stdin.write(struct.pack("<I", len(digests)) + b"".join(digests))
        self.stdin.flush()
        self.outstanding = len(digests)

    def collect(self) -> list[bytes]:
        raw = _read_exactly(self.stdout, 64 * self.outstanding)
        self.outstanding = 0
        return [raw[i : i + 64] for i in range(0, len(raw), 64)]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=5)


_helper: Helper | None = None
_helper_failed = False
_helper_lock = threading.Lock()


def _acquire_helper(private: ec.EllipticCurvePrivateKey) -> Helper | None:
    """The helper, reserved for the calling batch; None when it is busy or unavailable."""
    global _helper, _helper_failed
    with _helper_lock:
        if _helper_failed:
            return None
        if _helper is None or not _helper.alive():
            try:
                _helper = Helper(private)
            except OSError:
                _helper_failed = True
                return None
        helper = _helper
    return helper if helper.lock.acquire(blocking=False) else None


def _drop_helper(helper: Helper) -> None:
    global _helper, _helper_failed
    with _helper_lock:
        _helper_failed = True  # a broken helper is not restarted: the batches sign in-process
        if _helper is helper:
            _helper = None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        helper.process.kill()
        helper.process.wait(timeout=5)


def _sign_here(private: ec.EllipticCurvePrivateKey, digests: list[bytes]) -> list[bytes]:
    return [raw_signature(private, digest) for digest in digests]


def sign_chunks(
    private: ec.EllipticCurvePrivateKey,
    chunks: Iterable[tuple[Any, list[bytes]]],
    done: Callable[[Any, list[bytes]], None],
    size: int,
) -> None:
    """For each chunk from `chunks` (a pair: what `done` needs, the signing inputs), in order,
    `done(that, the raw signatures of the inputs)`. With `size` (the items in all) at least
    MIN_BATCH, the helper signs chunk n while `chunks` builds chunk n + 1; should it fail, the
    chunk is signed here."""
    helper = _acquire_helper(private) if size >= MIN_BATCH else None
    pending: tuple[Any, list[bytes]] | None = None
    try:
        for context, inputs in chunks:
            digests = [hashlib.sha256(i).digest() for i in inputs]
            if pending is not None:
                done(pending[0], _collect(helper, private, pending[1]))
                pending = None
            if helper is not None:
                try:
                    helper.submit(digests)
                    pending = (context, digests)
                    continue
                except OSError:
                    _drop_helper(helper)
                    helper = None
            done(context, _sign_here(private, digests))
        if pending is not None:
            done(pending[0], _collect(helper, private, pending[1]))
            pending = None
    finally:
        if helper is not None:
            if helper.outstanding:  # abandoned by an exception: the next batch must not read it
                try:
                    helper.collect()
                except (OSError, EOFError):
                    _drop_helper(helper)
            helper.lock.release()


def _collect(helper: Helper | None, private: ec.EllipticCurvePrivateKey, digests: list[bytes]) -> list[bytes]:
    if helper is not None:
        try:
            return helper.collect()
        except (OSError, EOFError):
            _drop_helper(helper)
    return _sign_here(private, digests)


def main() -> None:  # pragma: no cover - runs in the child process
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    (size,) = struct.unpack("<I", _read_exactly(stdin, 4))
    private = serialization.load_pem_private_key(_read_exactly(stdin, size), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    while True:
        try:
            (count,) = struct.unpack("<I", _read_exactly(stdin, 4))
            raw = _read_exactly(stdin, 32 * count)
        except EOFError:
            return
        stdout.write(b"".join(raw_signature(private, raw[i : i + 32]) for i in range(0, len(raw), 32)))
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
