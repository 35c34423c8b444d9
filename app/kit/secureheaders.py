"""Security headers on every answer (pure ASGI): what browsers need to render pages safely.

Every answer: `X-Content-Type-Options: nosniff` (a JSON answer is never run as a script or page),
and `Cache-Control: no-store` unless the application set its own or the path is one of the static
prefixes: a shared cache must not keep a person's data, nor serve a listing after it was withdrawn.
Every HTML answer, in addition: a Content-Security-Policy (the page's own, or the one given for the
path), `X-Frame-Options: DENY` and a Referrer-Policy, unless the application set them itself.
"""

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_PAGE_ONLY = (b"content-security-policy", b"x-frame-options", b"referrer-policy")


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
                message["headers"] = self.secured(scope["path"], message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def secured(self, path: str, headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
        """The answer's headers with those it lacks added (read once, raw: Starlette's header
        classes cost ~3 µs an answer here)."""
        headers = list(headers)
        sniffing = caching = True
        page = False
        for name, value in headers:
            name = name.lower()
            if name == b"x-content-type-options":
                sniffing = False
            elif name == b"cache-control":
                caching = False
            elif name == b"content-type":
                page = value.startswith(b"text/html")
        if sniffing:
            headers.append(_NOSNIFF)
        if caching and not path.startswith(self.static_prefixes):
            headers.append(_NO_STORE)
        if page:
            present = {name.lower() for name, _ in headers}
            policy = self.path_policies.get(path, self.page_policy)
            values = (policy, "DENY", self.referrer_policy)
            for header, text in zip(_PAGE_ONLY, values, strict=True):
                if header not in present:
                    headers.append((header, text.encode("latin-1")))
        return headers
