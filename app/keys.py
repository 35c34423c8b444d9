"""This process's signing keys, from the settings: REGISTRY_SIGNING_KEYS in production, or key files
under data_dir/keys in development (generated on first start, noticed by running processes when
`registry keys rotate` adds one). The keys themselves, and signing and verifying, are app.kit.signing.
"""

import logging
import math
import os
import threading
import time
from typing import Any

from app.config import Settings, get_settings
from app.kit.signing import (
    KeyRing,
    _write_key_file,
    generate_key_file,
    keys_from_directory,
    keys_from_text,
    public_key_from_jwk,
    public_pem,
)

log = logging.getLogger("registry.signing")
# A running process looks for new key files at most this often (development keys, in data_dir/keys).
KEYS_RECHECK_SECONDS = 2.0


def keyring_from_settings(settings: Settings) -> KeyRing:
    if settings.signing_keys:
        keys = keys_from_text(settings.signing_keys)
        if not any(key.private_ec is not None for key in keys):
            raise ValueError(
                "REGISTRY_SIGNING_KEYS holds no private key (PEM 'PRIVATE KEY' block) to sign with"
            )
        return KeyRing(keys, settings.token_ttl_seconds)
    directory = settings.data_dir / "keys"
    if not any(directory.glob("signing-*.pem")):
        generate_key_file(directory)
    return KeyRing(keys_from_directory(directory), settings.token_ttl_seconds)


def install_public_keys(jwks: list[dict[str, Any]], settings: Settings) -> dict[str, list[str]]:
    """After a restore: the public keys of a backup, so that what they signed still verifies here.
    With key files they are written to data_dir/keys (`public-<kid>.pem`); with
    REGISTRY_SIGNING_KEYS they can only be reported `missing` (their PEM goes there)."""
    known = keyring_from_settings(settings).keys
    result: dict[str, list[str]] = {"present": [], "installed": [], "missing": []}
    for jwk in jwks:
        key = public_key_from_jwk(jwk)
        if key.kid in known:
            result["present"].append(key.kid)
        elif settings.signing_keys:
            result["missing"].append(key.kid)
        else:
            _write_key_file(settings.data_dir / "keys" / f"public-{key.kid}.pem", public_pem(key.public_ec))
            result["installed"].append(key.kid)
    return result


# --- The keyring of this process, noticing new key files --------------------------------------------

_lock = threading.Lock()
_keyring: KeyRing | None = None
_source: tuple[Any, ...] | None = None
_checked_at = -math.inf


def _source_of(settings: Settings) -> tuple[Any, ...]:
    """What the keyring was built from: the environment's keys, or the key files as they are now
    (names, sizes and modification times: a directory listing, cheap enough every few seconds)."""
    if settings.signing_keys:
        return ("env", settings.signing_keys, settings.token_ttl_seconds)
    directory = settings.data_dir / "keys"
    files = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".pem") and not entry.name.startswith("."):
                    status = entry.stat()
                    files.append((entry.name, status.st_size, status.st_mtime_ns))
    except FileNotFoundError:
        pass
    files.sort()
    return ("files", str(directory), settings.token_ttl_seconds, tuple(files))


def get_keyring() -> KeyRing:
    """This process's keys, rebuilt when the key files change (looked at every KEYS_RECHECK_SECONDS):
    `registry keys rotate` needs no restart in development. REGISTRY_SIGNING_KEYS cannot change under
    a running process; see `registry keys rotate`."""
    keyring = _keyring
    if keyring is not None and time.monotonic() - _checked_at < KEYS_RECHECK_SECONDS:
        return keyring
    return reload_keys()


def reload_keys() -> KeyRing:
    """Look at the keys' source now; the keyring, rebuilt if its source changed."""
    global _keyring, _source, _checked_at
    with _lock:
        settings = get_settings()
        source = _source_of(settings)
        _checked_at = time.monotonic()
        if _keyring is None or source != _source:
            try:
                _keyring = keyring_from_settings(settings)
            except (OSError, ValueError) as exc:
                if _keyring is None:
                    raise
                # A key file that cannot be read must not stop a running service: the keys it has
                # keep working, and the next look tries again.
                log.error("signing keys: %s; keeping the keys already loaded", exc)
                return _keyring
            _source = _source_of(settings)  # again: a first start has just written its key
        return _keyring
