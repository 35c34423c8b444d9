"""Webhook POSTs: HTTP/1.1 over connections kept open per sending thread, each connected to the
address the callback check approved (app.monitoring.callbacks), the answer read by httptools (the C
parser uvicorn serves with, llhttp).

Why not a general client: the delivery worker shares its cores with the pushes it reports on, so
what a POST costs is what an alert waits. Measured, 3,000 POSTs of 4 KB to a local receiver over one
kept connection, CPU per POST: httpx 0.87–0.95 ms (and its pool is one lock the sending threads
queue on), the standard library's http.client 0.13–0.16 ms (most of it parsing the answer's
headers with the `email` package), h11 0.13–0.14 ms, the request written in one piece and the
answer parsed by httptools 0.03–0.04 ms. The request is ours (a fixed set of headers, the path and
host already in ASCII from the callback check), so writing it needs no library; reading what a
stranger answers does, and httptools is that.

- A connection is kept per thread and per (scheme, address, port, name, timeout): it is never shared
  between threads, and one verified for one name never carries another name's alert.
- TLS: the certificate is verified (certifi's roots, as httpx) against the URL's name, while the
  socket connects to the checked address: no second name lookup that could be rebound.
- Redirects are not followed (a 3xx is an answer like any other, not an acknowledgement); an
  answer's body is read up to 64 KiB, and a connection whose answer was longer, or that the
  receiver will close, is closed rather than reused.
- A kept connection the receiver closed meanwhile fails at once when written to or read from: the
  POST is made once more on a new connection (the receiver drops a second copy by its delivery id).
  A timeout is not retried here: the receiver may be working on it; the next attempt is the
  worker's retry.
"""

import functools
import http.client
import socket
import ssl
import threading
from collections import OrderedDict

import certifi
import httptools

from app.monitoring.callbacks import Target

ANSWER_READ = 64 * 1024
KEPT_PER_THREAD = 64
_READ = 64 * 1024  # bytes asked of the socket at a time

Key = tuple[str, str, int, str, float]


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for the process (loading the CA bundle costs ~45 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


class _Answer:
    """httptools' callbacks for one answer: its body counted (kept up to ANSWER_READ), and whether
    it is complete."""

    def __init__(self) -> None:
        self.read = 0
        self.complete = False

    def on_body(self, chunk: bytes) -> None:
        self.read += len(chunk)

    def on_message_complete(self) -> None:
        self.complete = True


class Connection:
    """One kept connection to a target: a socket, TCP to the checked address (TLS verified against
    the name for https)."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.socket: socket.socket = socket.create_connection((target.address, target.port), timeout)
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.scheme == "https":
                self.socket = _tls().wrap_socket(self.socket, server_hostname=target.server_name)
        except BaseException:
            self.socket.close()
            raise
        self.reusable = True

    def close(self) -> None:
        self.reusable = False
        self.socket.close()

    def exchange(self, head: bytes, body: bytes) -> int:
        """Send one request, read its answer; the answer's status. An informational one (1xx: never
        asked for) counts as the answer, not an acknowledgement, and the connection is closed."""
        self.socket.sendall(head + body)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        status = self._read(answer, parser)
        if status < 200 or answer.read > ANSWER_READ or not parser.should_keep_alive():
            self.close()  # something left unread on it, or the receiver closes it
        return status

    def _read(self, answer: _Answer, parser: httptools.HttpResponseParser) -> int:
        while not answer.complete:
            data = self.socket.recv(_READ)
            if not data:
                self.reusable = False
                try:
                    status = parser.get_status_code()
                except httptools.HttpParserError:
                    status = 0
                if status:  # an answer without a length, ended by closing the connection
                    return status
                raise http.client.RemoteDisconnected("the receiver closed the connection without answering")
            try:
                parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                raise http.client.HTTPException(f"the receiver switched protocols: {exc}") from None
            except httptools.HttpParserError as exc:
                raise http.client.HTTPException(f"not an HTTP answer: {exc}") from None
            if answer.read > ANSWER_READ:
                return parser.get_status_code()  # the rest stays unread; the connection is closed
        return parser.get_status_code()


def request_head(target: Target, headers: dict[str, str], length: int) -> bytes:
    """The request line and headers of a POST of `length` bytes. Every part is ASCII without line
    breaks: the path and host come from the callback check, the headers from the worker."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if any("\r" in line or "\n" in line for line in lines):
        raise ValueError("a line break inside the request head")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _Kept(threading.local):
    def __init__(self) -> None:
        self.connections: OrderedDict[Key, Connection] = OrderedDict()


_kept = _Kept()


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST `body` to `target`; the answer's status. Raises OSError (refused, reset, timed out, TLS)
    or http.client.HTTPException (not HTTP) when no answer came."""
    head = request_head(target, headers, len(body))
    key: Key = (target.scheme, target.address, target.port, target.server_name, timeout)
    kept = _kept.connections.pop(key, None)
    connection = kept or Connection(target, timeout)
    try:
        try:
            status = connection.exchange(head, body)
        except ConnectionError:  # reset, broken pipe, closed before answering (not a timeout)
            if kept is None:
                raise
            connection.close()  # closed by the receiver while kept: once more, on a new connection
            connection = Connection(target, timeout)
            status = connection.exchange(head, body)
    except BaseException:
        connection.close()
        raise
    if connection.reusable:
        _keep(key, connection)
    return status


def _keep(key: Key, connection: Connection) -> None:
    connections = _kept.connections
    connections[key] = connection
    while len(connections) > KEPT_PER_THREAD:
        _, oldest = connections.popitem(last=False)
        oldest.close()
