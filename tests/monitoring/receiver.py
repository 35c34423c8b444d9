"""A real HTTP receiver for the webhook tests, in a thread of the test: it answers as told (200, 500,
too slowly, with a long body, or closing the connection without saying so) and keeps every POST it
got, with the answer it meant to give and where it came from."""

import hashlib
import hmac
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from tests.ops.servers import free_port


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # webhooks come a dozen at once
    daemon_threads = True


@dataclass
class Received:
    delivery_id: str
    signature_ok: bool
    body: dict[str, Any]
    mode: str
    host: str = ""  # the Host header
    path: str = ""
    peer: int = 0  # the sender's port: one per connection


@dataclass
class Receiver:
    secret: str
    port: int = field(default_factory=free_port)
    mode: str = "ok"  # ok | error | slow | long (a 1 MiB answer) | drop (then closes, unannounced)
    slow_seconds: float = 1.0
    received: list[Received] = field(default_factory=list)
    server: "_Server | None" = None
    tls: ssl.SSLContext | None = None  # a server context: HTTPS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept between POSTs, as most receivers do

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                mode = receiver.mode
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                given = self.headers.get("X-Registry-Signature", "")
                receiver.received.append(
                    Received(
                        self.headers.get("X-Registry-Delivery", ""),
                        hmac.compare_digest(expected, given),
                        orjson.loads(body),
                        mode,
                        self.headers.get("Host", ""),
                        self.path,
                        self.client_address[1],
                    )
                )
                if mode == "slow":
                    time.sleep(receiver.slow_seconds)
                status = 500 if mode == "error" else 200 if mode in ("slow", "long") else 204
                answer = b"x" * (1 << 20) if mode == "long" else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the registry gave up waiting
                    pass
                self.close_connection = mode == "drop"  # no "Connection: close" said

        self.server = _Server(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def acknowledged(self) -> list[str]:
        """Delivery ids of the POSTs answered 2xx in time."""
        return [r.delivery_id for r in self.received if r.mode in ("ok", "long", "drop")]
