"""Files only the registry's own user may read: keys, backups, exports and extracts hold persons'
full identity numbers, restricted records and secrets' hashes (个人信息保护法 第五十一条: measures
against unauthorized access), so they are never left readable by others under the usual umask."""

import os
import stat
from pathlib import Path
from typing import IO, Any


def open_private(path: Path | str, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing, the file created with mode 600 (never readable by others, not
    even for a moment) or, when it was there already, made 600 before anything is written."""
    if not mode.startswith(("w", "x")):
        raise ValueError(f"open_private writes: mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if mode.startswith("x") else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    try:
        if stat.S_ISREG(os.fstat(descriptor).st_mode):  # never a device's (/dev/null, /dev/stdout)
            os.fchmod(descriptor, 0o600)  # a file that existed keeps its old mode otherwise
    except OSError:  # another owner's file, writable to us: its mode is not ours to change
        pass
    return os.fdopen(descriptor, mode.replace("x", "w"), **kwargs)
