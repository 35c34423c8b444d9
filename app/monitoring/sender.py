"""Webhook POSTs: the standard library's HTTP/1.1 client over connections kept open per sending
thread, each connected to the address the callback check approved (app.monitoring.callbacks).

Why not httpx, which the rest of the registry uses: a POST through httpx's client cost 0.87–0.95 ms
of CPU against http.client's 0.20 ms (3,000 POSTs of 1.5 KB to a local receiver, keep-alive), and its
connection pool is one lock that the sending threads queue on; the delivery worker shares its cores
with the pushes it reports on, so what a POST costs is what an alert waits.

- A connection is kept per thread and per (scheme, address, port, name, timeout): it is never shared
  between threads, and one verified for one name never carries another name's alert.
- TLS: the certificate is verified (certifi's roots, as httpx) against the URL's name, while the
  socket connects to the checked address: no second name lookup that could be rebound.
- Redirects are not followed (http.client never does); an answer's body is read up to 64 KiB, and a
  connection whose answer was longer is closed rather than reused.
- A kept connection the receiver closed meanwhile fails at once when written to or read from: the
  POST is made once more on a new connection (the receiver drops a second copy by its delivery id).
  A timeout is not retried here: the receiver may be working on it; the next attempt is the
  worker's retry.
"""

import functools
import http.client
import ssl
import threading
from collections import OrderedDict

import certifi

from app.monitoring.callbacks import Target

ANSWER_READ = 64 * 1024
KEPT_PER_THREAD = 64

Key = tuple[str, str, int, str, float]


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for the process (loading the CA bundle costs ~45 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a given address, the certificate verified against a given name."""

    def __init__(
        self, address: str, port: int, server_name: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name
        self.tls = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP to the address
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.server_name)


class _Kept(threading.local):
    def __init__(self) -> None:
        self.connections: OrderedDict[Key, http.client.HTTPConnection] = OrderedDict()


_kept = _Kept()


def _open(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return PinnedHTTPSConnection(target.address, target.port, target.server_name, timeout, _tls())
    return http.client.HTTPConnection(target.address, target.port, timeout=timeout)


def _exchange(
    connection: http.client.HTTPConnection, target: Target, headers: dict[str, str], body: bytes
) -> int:
    connection.request("POST", target.path, body=body, headers={**headers, "Host": target.host})
    answer = connection.getresponse()
    answer.read(ANSWER_READ)
    if not answer.isclosed():  # more than we read: the connection cannot carry another request
        connection.close()
    return answer.status


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST `body` to `target`; the answer's status. Raises OSError (refused, reset, timed out, TLS)
    or http.client.HTTPException (not HTTP) when no answer came."""
    key: Key = (target.scheme, target.address, target.port, target.server_name, timeout)
    kept = _kept.connections.pop(key, None)
    connection = kept or _open(target, timeout)
    try:
        try:
            status = _exchange(connection, target, headers, body)
        except ConnectionError:  # reset, broken pipe, closed before answering (not a timeout)
            if kept is None:
                raise
            connection.close()  # closed by the receiver while kept: once more, on a new connection
            connection = _open(target, timeout)
            status = _exchange(connection, target, headers, body)
    except BaseException:
        connection.close()
        raise
    _keep(key, connection)
    return status


def _keep(key: Key, connection: http.client.HTTPConnection) -> None:
    connections = _kept.connections
    connections[key] = connection
    while len(connections) > KEPT_PER_THREAD:
        _, oldest = connections.popitem(last=False)
        oldest.close()
