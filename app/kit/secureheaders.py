"""Security headers on every answer (pure ASGI): what browsers need to render pages safely.

Every answer: `X-Content-Type-Options: nosniff` (a JSON answer is never run as a script or page),
and `Cache-Control: no-store` unless the application set its own or the path is one of the static
prefixes: a shared cache must not keep a person's data, nor serve a listing after it was withdrawn.
Every HTML answer, in addition: a Content-Security-Policy (the page's own, or the one given for the
path), `X-Frame-Options: DENY` and a Referrer-Policy, unless the application set them itself.
"""

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        page_policy: str,
        path_policies: Mapping[str, str] | None = None,
        referrer_policy: str = "no-referrer",
        static_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app, self.page_policy, self.referrer_policy = app, page_policy, referrer_policy
        self.path_policies = dict(path_policies or {})
        self.static_prefixes = static_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                if not scope["path"].startswith(self.static_prefixes):
                    headers.setdefault("cache-control", "no-store")
                if headers.get("content-type", "").startswith("text/html"):
                    policy = self.path_policies.get(scope["path"], self.page_policy)
                    headers.setdefault("content-security-policy", policy)
                    headers.setdefault("x-frame-options", "DENY")
                    headers.setdefault("referrer-policy", self.referrer_policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)
