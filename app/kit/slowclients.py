"""uvicorn's HTTP/1.1 protocol with a deadline for the request head (the slowloris defence).

uvicorn (0.54) times out only an idle keep-alive connection, and its timer is cancelled by the
first byte that arrives: a client that opens a connection and sends a request head a byte at a
time, or never finishes it, holds the connection for ever (uvicorn issue #157 asks for exactly
this timeout; it was never added). ASGI middleware cannot help, as the application is called
only once the head is complete. Here a connection whose request head is not complete within
`head_timeout` seconds of the connection opening, or of its previous answer, is closed.
Bodies are the application's to time (app.kit.limits). The same protocol classes write each
answer's head and body in one system call (app.kit.onewrite).

Pass `protocol(seconds)` as uvicorn's `http`: a picklable factory, so that worker processes
(spawned, the configuration pickled) get it too.
"""

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from app.kit.onewrite import OneWritePerTurn


class _HeadDeadline:
    """Mixed into uvicorn's protocol classes, which provide `cycle`, `loop` and `transport`.

    One timer per connection, not one per request: an answer moves the deadline, and the timer,
    when it fires, closes the connection only if no head has come since the answer it was waiting
    after and the deadline has really passed; otherwise it waits for the deadline as moved, or for
    the next answer to set it. (A timer made and cancelled for every request cost ~3 % of a ping
    served over HTTP.)"""

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_deadline = 0.0
        self._awaited_after: Any = None  # the request whose answer preceded the awaited head

    def _arm_head_deadline(self) -> None:
        self._awaited_after = self.cycle
        self._head_deadline = self.loop.time() + self.head_timeout
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_deadline_passed)

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.cycle is not self._awaited_after:
            return  # a head came: its answer sets the deadline again
        if self.cycle is not None and not self.cycle.response_complete:
            return  # still answering (the body's time is the application's)
        if self.loop.time() < self._head_deadline:  # moved by a later answer
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_deadline_passed)
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)  # type: ignore[misc]


class H11WithHeadDeadline(_HeadDeadline, OneWritePerTurn, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional; uvicorn then serves with h11
    HttpToolsWithHeadDeadline: type | None = None
else:

    class _HttpToolsWithHeadDeadline(_HeadDeadline, OneWritePerTurn, HttpToolsProtocol):
        pass

    HttpToolsWithHeadDeadline = _HttpToolsWithHeadDeadline


def protocol(head_timeout: float, http: str = "auto") -> Callable[..., asyncio.Protocol]:
    """uvicorn's `http`: "h11", "httptools", or "auto" as uvicorn picks (httptools if installed)."""
    if http == "httptools" and HttpToolsWithHeadDeadline is None:
        raise ValueError("httptools is not installed (pip install 'uvicorn[standard]')")
    chosen = H11WithHeadDeadline if http == "h11" else HttpToolsWithHeadDeadline or H11WithHeadDeadline
    return functools.partial(chosen, head_timeout=head_timeout)
