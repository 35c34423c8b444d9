"""An answer's head and body in one system call.

uvicorn writes an answer's head (status line and headers) as soon as the application starts the
answer, and its body in a second write: two `send` calls on the socket for every answer, each a
trip through the kernel's TCP stack. Under load these were the largest single item of a public
lookup (py-spy: ~20 % of the server's time inside the protocol's `send`, most of it the two
writes; docs/benchmarks.md). Here the connection's writes made during one turn of the event loop
are gathered and go out together at the end of that turn, so that an answer made in one go (every
JSON answer) costs one.

Nothing waits longer than the turn of the loop it was written in; writes gathered past
`FLUSH_BYTES` go out at once, so that a streamed answer (an export, a PDF) is never held whole in
memory and the transport's own flow control (pause_writing when its buffer is full, which makes
uvicorn wait for it to drain) sees what it must; closing the connection sends what is gathered
first.
"""

import asyncio
from typing import Any

# Past this many bytes gathered, they are written at once.
FLUSH_BYTES = 64 * 1024


class GatheringTransport:
    """Wraps a connection's transport: `write` gathers until the loop's turn ends; everything else
    is the transport's own."""

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._gathered: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._gathered:
            self._loop.call_soon(self.flush)
        self._gathered.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._gathered:
            return
        gathered, self._gathered, self._size = self._gathered, [], 0
        if not self._transport.is_closing():
            self._transport.write(gathered[0] if len(gathered) == 1 else b"".join(gathered))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWritePerTurn:
    """Mixed into uvicorn's protocol classes (which keep the connection's transport as `transport`,
    and hand it to each request's cycle): their writes go through a GatheringTransport."""

    transport: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.transport = GatheringTransport(transport, asyncio.get_running_loop())
