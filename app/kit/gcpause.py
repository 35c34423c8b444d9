"""The cyclic garbage collector held off while a large batch is handled.

A batch of 10,000 checks makes hundreds of thousands of short-lived objects (the parsed items, the
facts, the answers); each few hundred allocations the collector would scan them, and now and then
the whole heap, again and again (docs/benchmarks.md has the figures). Nothing a batch builds is
cyclic, so reference counting frees all of it anyway.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """The collector off while any holder is inside (a process-wide switch, counted so that
    concurrent batches do not turn it back on under each other)."""
    global _holders
    with _lock:
        if _holders == 0 and not gc.isenabled():
            owner = False  # someone else turned it off; leave it be
        else:
            owner = True
            _holders += 1
            gc.disable()
    try:
        yield
    finally:
        if owner:
            with _lock:
                _holders -= 1
                if _holders == 0:
                    gc.enable()


def freeze_startup_objects() -> None:
    """After startup: what the application built to run (modules, routes, schemas, caches: some
    380,000 objects) moved out of the collector's sight. A full collection otherwise walks all of
    it, ~140 ms (measured) during which every request in flight waits: the slowest 1 % of single
    checks. Only reference cycles among these objects would stay uncollected, and they live as long
    as the process anyway; `thaw` gives them back (a lifespan ending within a longer process). No
    collection first: it would cost those ~140 ms at every start, tests' included, to spare the
    little garbage startup leaves."""
    gc.freeze()


def thaw() -> None:
    gc.unfreeze()
