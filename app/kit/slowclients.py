"""uvicorn's HTTP/1.1 protocol with a deadline for the request head (the slowloris defence).

uvicorn (0.54) times out only an idle keep-alive connection, and its timer is cancelled by the
first byte that arrives: a client that opens a connection and sends a request head a byte at a
time, or never finishes it, holds the connection for ever (uvicorn issue #157 asks for exactly
this timeout; it was never added). ASGI middleware cannot help, as the application is called
only once the head is complete. Here a connection whose request head is not complete within
`head_timeout` seconds of the connection opening, or of its previous answer, is closed.
Bodies are the application's to time (app.kit.limits).

Pass `protocol(seconds)` as uvicorn's `http`: a picklable factory, so that worker processes
(spawned, the configuration pickled) get it too.
"""

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeadDeadline:
    """Mixed into uvicorn's protocol classes, which provide `cycle`, `loop` and `transport`."""

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaited_after: Any = None  # the request whose answer preceded the awaited head

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._awaited_after = self.cycle
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        # No new request head since the deadline was armed, and none being answered: close.
        idle = self.cycle is None or self.cycle.response_complete
        if self.cycle is self._awaited_after and idle and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._head_timer is not None and self.cycle is not self._awaited_after:
            self._disarm_head_deadline()  # a head arrived

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]


class H11WithHeadDeadline(_HeadDeadline, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional; uvicorn then serves with h11
    HttpToolsWithHeadDeadline: type | None = None
else:

    class _HttpToolsWithHeadDeadline(_HeadDeadline, HttpToolsProtocol):
        pass

    HttpToolsWithHeadDeadline = _HttpToolsWithHeadDeadline


def protocol(head_timeout: float, http: str = "auto") -> Callable[..., asyncio.Protocol]:
    """uvicorn's `http`: "h11", "httptools", or "auto" as uvicorn picks (httptools if installed)."""
    if http == "httptools" and HttpToolsWithHeadDeadline is None:
        raise ValueError("httptools is not installed (pip install 'uvicorn[standard]')")
    chosen = H11WithHeadDeadline if http == "h11" else HttpToolsWithHeadDeadline or H11WithHeadDeadline
    return functools.partial(chosen, head_timeout=head_timeout)
