"""Limits against abuse, tried on a real server (`registry serve`) over raw sockets: bodies too large
or too slow, request heads that never end, and a forged X-Forwarded-For against the rate limit."""

import json
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.ops.servers import registry_serve

MiB = 1024 * 1024
TIMEOUT = 1  # seconds, for both the body and the head on the servers below


@pytest.fixture(scope="module")
def server(database) -> Iterator[str]:
    settings = {
        "max_body_bytes": str(MiB),
        "body_timeout_seconds": str(TIMEOUT),
        "head_timeout_seconds": str(TIMEOUT),
        "public_rate_limit": "3",
    }
    with registry_serve(**settings) as base:
        yield base


@pytest.fixture(scope="module")
def behind_a_proxy(database) -> Iterator[str]:
    with registry_serve(trusted_proxies="127.0.0.1", public_rate_limit="3") as base:
        yield base


@pytest.fixture(scope="module")
def pure_python(database) -> Iterator[str]:
    """The fallback where uvloop and httptools are missing: asyncio's own loop and h11."""
    with registry_serve("--loop", "asyncio", "--http", "h11", head_timeout_seconds=str(TIMEOUT)) as base:
        yield base


def _connect(base: str) -> socket.socket:
    address = urlsplit(base)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def _head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: registry.test", *headers, "", ""]
    return "\r\n".join(lines).encode()


def _answer(sock: socket.socket, within: float) -> tuple[int, bytes]:
    """Status and body of the answer, read until the server closes the connection."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        if not received:
            raise
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the connection (nothing more to read) within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_body_declared_too_large_is_refused_before_it_is_sent(server):
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/public/reports/CR20261120-AAAAAAAAAAAA/verify",
                "Content-Type: application/pdf",
                f"Content-Length: {300 * MiB}",
            )
        )
        status, body = _answer(sock, within=5)
    assert status == 413
    assert json.loads(body) == {
        "error": "payload_too_large",
        "detail": f"the request body may be at most {MiB} bytes",
    }


def test_a_chunked_body_is_refused_once_past_the_limit_as_it_streams(server):
    attempted = 64 * MiB
    chunk = b"x" * 65536
    sent = 0
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/public/objections",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        while sent < attempted and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        status, body = _answer(sock, within=5)
    assert status == 413 and json.loads(body)["error"] == "payload_too_large"
    assert sent < attempted  # refused while the body was still arriving, not after it was all read


def test_an_upload_may_be_five_mebibytes_and_no_more(server):
    """Multipart uploads get the file limit (5 MiB) plus their envelope, above the server's 1 MiB."""
    files_path = f"{server}/v1/public/cases/AAAA-BBBB-CCCC-DDDD/files"
    five = httpx.post(
        files_path, files={"file": ("a.pdf", b"%PDF-" + b"0" * (5 * MiB - 5), "application/pdf")}
    )
    assert five.status_code == 404  # through to the application: no case has that query code
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/public/cases/AAAA-BBBB-CCCC-DDDD/files",
                "Content-Type: multipart/form-data; boundary=b",
                f"Content-Length: {6 * MiB}",
            )
        )
        status, body = _answer(sock, within=5)
    assert status == 413 and json.loads(body)["error"] == "payload_too_large"


def test_a_body_that_stops_arriving_is_cut_off_with_408(server):
    with _connect(server) as sock:
        sock.sendall(
            _head("POST", "/v1/public/objections", "Content-Type: application/json", "Content-Length: 100")
            + b'{"record_id": '
        )
        started = time.monotonic()
        status, body = _answer(sock, within=TIMEOUT + 4)
    assert status == 408 and json.loads(body)["error"] == "request_timeout"
    assert time.monotonic() - started < TIMEOUT + 3


def test_a_body_sent_in_parts_within_the_time_is_answered(server):
    body = b'{"record_id": "00000000-0000-0000-0000-000000000000"}'
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/public/reports/CR20261120-AAAAAAAAAAAA/verify",
                f"Content-Length: {len(body)}",
                "Connection: close",
            )
            + body[:10]
        )
        time.sleep(TIMEOUT / 3)
        sock.sendall(body[10:])
        status, _ = _answer(sock, within=5)
    assert status == 404  # read whole and answered: no such report


def test_a_connection_that_sends_nothing_is_closed(server):
    with _connect(server) as sock:
        assert _closed_within(sock, TIMEOUT + 3)


def test_a_request_head_sent_a_line_at_a_time_is_closed(server):
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: registry.test\r\n")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < TIMEOUT + 4:
            try:
                sock.sendall(b"X-Slow: a\r\n")  # each line resets uvicorn's own keep-alive timer
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            closed = closed or _closed_within(sock, 0.2)
    assert closed and time.monotonic() - started < TIMEOUT + 3


def test_a_slow_second_request_on_a_kept_alive_connection_is_closed(server):
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz"))
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < TIMEOUT + 4:
            try:
                sock.sendall(b"X-Slow: a\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            closed = closed or _closed_within(sock, 0.2)
    assert closed


def test_a_kept_alive_connection_asking_in_time_stays_open_past_the_head_timeout(server):
    # The deadline is for each head after the previous answer, not for the connection: requests
    # every 0.6 s over three times the timeout are all answered on one connection.
    def answered(sock: socket.socket) -> bool:
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        length = int(lengths[0].split(b":")[1])
        while len(body) < length:
            body += sock.recv(65536)
        return head.startswith(b"HTTP/1.1 200")

    with _connect(server) as sock:
        sock.settimeout(5)
        for _ in range(6):
            sock.sendall(_head("GET", "/healthz"))
            assert answered(sock)
            time.sleep(TIMEOUT * 0.6)
        sock.sendall(_head("GET", "/healthz"))
        assert answered(sock)
        assert _closed_within(sock, TIMEOUT + 3)  # and closed once it stops asking


def _statuses(base: str, forwarded_for: list[str]) -> list[int]:
    return [
        httpx.get(
            f"{base}/v1/public/search", params={"q": "星辰科技"}, headers={"X-Forwarded-For": address}
        ).status_code
        for address in forwarded_for
    ]


# Seven requests in well under a second fall in at most two of the limiter's fixed windows, so that
# one of them sees a fourth request from the same address: a limit of three refuses it.
ROTATING = [f"203.0.113.{n}" for n in range(1, 8)]


def test_a_forged_forwarded_for_does_not_escape_the_rate_limit(server):
    assert 429 in _statuses(server, ROTATING)


def test_a_trusted_proxy_s_forwarded_for_is_honoured(behind_a_proxy):
    assert set(_statuses(behind_a_proxy, ROTATING)) == {200}  # seven clients, one request each
    assert 429 in _statuses(behind_a_proxy, ["198.51.100.7"] * 7)


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    from pydantic import ValidationError

    from app.config import Settings

    monkeypatch.setenv("REGISTRY_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16 ,::1")
    assert Settings().trusted_proxies == "10.0.0.5,10.1.0.0/16,::1"
    for wrong in ("*", "proxy.internal", "10.0.0.300"):
        monkeypatch.setenv("REGISTRY_TRUSTED_PROXIES", wrong)
        with pytest.raises(ValidationError, match="not an IP address or network"):
            Settings()


def test_the_pure_python_stack_serves_and_still_closes_slow_heads(pure_python):
    answer = httpx.get(f"{pure_python}/v1/public/ping")
    assert answer.status_code == 200 and answer.headers["x-request-id"]
    with _connect(pure_python) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: registry.test\r\n")
        assert _closed_within(sock, TIMEOUT + 3)
