"""Signing keys of a test's own: a key directory or REGISTRY_SIGNING_KEYS, for the length of a block."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app import keys
from app.config import get_settings
from app.kit import signing


@contextmanager
def own_keys(*, data_dir: Path | None = None, signing_keys: str = "") -> Iterator[None]:
    """This process's keys come from `data_dir`/keys (or `signing_keys`) inside the block and are
    looked at on every use (no recheck interval); the suite's keys again after it."""
    settings = get_settings()
    saved = settings.data_dir, settings.signing_keys, keys.KEYS_RECHECK_SECONDS
    settings.data_dir = data_dir or settings.data_dir
    settings.signing_keys = signing_keys
    keys.KEYS_RECHECK_SECONDS = 0.0
    try:
        keys.reload_keys()
        yield
    finally:
        settings.data_dir, settings.signing_keys, keys.KEYS_RECHECK_SECONDS = saved
        keys.reload_keys()


def key_file(directory: Path, hours_ago: float) -> Path:
    """A key file that started signing `hours_ago`."""
    return signing.generate_key_file(directory, active_from=time.time() - hours_ago * 3600)


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()
