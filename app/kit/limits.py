"""Request bodies bounded in size and in time, refused while they stream in (pure ASGI).

A declared Content-Length over the limit is refused before a byte of the body is read; a chunked
body is counted as it arrives and refused once past the limit, so nothing larger than the limit is
ever held in memory or spooled to disk. A body that stops arriving is cut off when its time is up
(slow senders would otherwise hold a connection and a worker forever). Either way the answer is an
error (413 or 408) with `Connection: close`, and the application's own answer, if it makes one
after the refusal, is dropped.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Refused(Exception):
    """Raised from `receive` when the body is too large or too slow; the middleware answers it."""

    def __init__(self, status_code: int, error: str, detail: str, limit: int | None = None) -> None:
        super().__init__(detail)
        self.status_code, self.error, self.detail, self.limit = status_code, error, detail, limit


@dataclass(frozen=True)
class RouteLimit:
    """A body limit other than the default for the requests whose method and path match."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


Render = Callable[[Scope, Refused], Response]


def json_refusal(scope: Scope, refused: Refused) -> Response:
    return JSONResponse({"error": refused.error, "detail": refused.detail}, status_code=refused.status_code)


def too_large(limit: int) -> Refused:
    return Refused(413, "payload_too_large", f"the request body may be at most {limit} bytes", limit)


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        timeout_seconds: float,
        routes: Sequence[RouteLimit] = (),
        render: Render = json_refusal,
    ) -> None:
        self.app, self.max_bytes, self.timeout, self.routes = app, max_bytes, timeout_seconds, routes
        self.render = render

    def limit_for(self, method: str, path: str) -> int:
        for route in self.routes:
            if route.method == method and route.path.fullmatch(path):
                return route.max_bytes
        return self.max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a request without a body (most of them) goes straight to the
        # application, without a frame of this middleware around it.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        declared: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:  # the server's parser refuses these; nothing to bound here
                    declared = None
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and not declared:  # no body: nothing to bound, nothing to wait for
            return self.app(scope, receive, send)
        limit = self.limit_for(scope["method"], scope["path"])
        if declared is not None and declared > limit:
            return self._answer(scope, receive, send, too_large(limit))
        return self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        complete = False
        refused: Refused | None = None
        started = replaced = False

        async def bounded_receive() -> Message:
            nonlocal received, complete, refused
            if refused is not None:
                raise refused
            if complete:  # the body is in: later calls wait for a disconnect, for as long as it takes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = Refused(
                    408, "request_timeout", f"the request body did not arrive within {self.timeout:g} seconds"
                )
                raise refused from None
            if message["type"] != "http.request":
                complete = True
                return message
            received += len(message.get("body", b""))
            if received > limit:
                refused = too_large(limit)
                raise refused
            complete = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if refused is not None and not started:
                # The application answered the refusal its own way (FastAPI turns an error while
                # reading a body into a 400): the refusal is the answer instead.
                started = replaced = True
                await self._answer(scope, receive, send, refused)
                return
            if replaced:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if refused is None or (started and not replaced):
                raise
            if not replaced:
                await self._answer(scope, receive, send, refused)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, refused: Refused) -> None:
        response = self.render(scope, refused)
        # The rest of the body is never read: the connection cannot carry another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)
