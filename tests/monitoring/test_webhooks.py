"""Webhooks to a real receiver: down, answering 500, too slow, then back — every alert delivered,
signed, under one delivery id each, none acknowledged twice; a crash mid-delivery loses nothing; a
change that rolls back sends nothing; after 24 hours a delivery is failed, and retried on demand."""

import asyncio
import json
import socket
import ssl
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from app.auth.service import Principal
from app.cli import cli
from app.db import session_scope
from app.kit.clock import utcnow
from app.monitoring import callbacks, delivery, sender
from app.records import ingest
from tests.conftest import make_uscc, record_body
from tests.monitoring.helpers import alerts, approver, make_alerts, push, watch
from tests.monitoring.receiver import Receiver

SECRET = "webhook-secret-of-the-approver"
TIMEOUT = 0.3  # the receiver's slow answers take longer


def run(at, timeout=TIMEOUT):
    return asyncio.run(delivery.run_once(now=at, timeout=timeout))


def deliveries(http, headers, watchlist_id, **params):
    answer = http.get(f"/v1/watchlists/{watchlist_id}/deliveries", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


@pytest.fixture
def receiver():
    made = Receiver(SECRET)
    yield made
    made.stop()


def test_down_error_slow_then_back_delivers_every_alert_once(http, police, token_for, receiver):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    push(http, police, 2)
    made = alerts(http, headers, watchlist["id"])
    assert len(made) == 2
    t0 = utcnow()

    # Down: nothing listens on the port.
    assert run(t0) == 2
    pending = deliveries(http, headers, watchlist["id"])
    assert [d["status"] for d in pending] == ["pending", "pending"]
    assert all(d["attempts"] == 1 and d["last_error"] for d in pending)
    first_retry = max(d["next_attempt_at"] for d in pending)
    assert http.get("/metrics").text.count("registry_webhook_deliveries_pending 2.0") == 1
    assert datetime.fromisoformat(first_retry) - t0 <= timedelta(seconds=10)
    assert run(t0 + timedelta(seconds=1)) == 0  # not due yet

    receiver.mode = "error"
    receiver.start()
    assert run(t0 + timedelta(seconds=6)) == 2
    assert {d["last_status"] for d in deliveries(http, headers, watchlist["id"])} == {500}

    receiver.mode = "slow"
    assert run(t0 + timedelta(seconds=30)) == 2
    assert all("Timeout" in d["last_error"] for d in deliveries(http, headers, watchlist["id"]))

    receiver.mode = "ok"
    assert run(t0 + timedelta(minutes=2)) == 2
    done = deliveries(http, headers, watchlist["id"])
    assert [(d["status"], d["attempts"]) for d in done] == [("delivered", 4), ("delivered", 4)]
    assert run(t0 + timedelta(hours=1)) == 0  # nothing more to send

    # Every alert arrived, each under one delivery id (the same on every attempt), acknowledged once.
    ids = {d["alert_id"]: d["id"] for d in done}
    assert set(ids) == {a["id"] for a in made}
    assert sorted(receiver.acknowledged()) == sorted(ids.values())
    by_delivery = {}
    for got in receiver.received:
        assert got.signature_ok
        by_delivery.setdefault(got.delivery_id, set()).add(got.body["id"])
    assert all(len(alert_ids) == 1 for alert_ids in by_delivery.values())
    assert {r.body["id"]: r.body for r in receiver.received if r.mode == "ok"} == {a["id"]: a for a in made}


def test_a_crash_mid_delivery_delivers_after_restart(http, police, token_for, receiver):
    headers = approver(token_for)
    receiver.start()
    watchlist = watch(http, headers, 1, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    assert make_alerts() == 1  # the worker's first step: the alert and its delivery
    t0 = utcnow()
    claimed = delivery.claim(t0, TIMEOUT)  # a worker takes it, then dies before sending
    assert len(claimed) == 1
    assert run(t0 + timedelta(seconds=5)) == 0  # leased: no other worker sends it meanwhile
    assert run(t0 + timedelta(minutes=1)) == 1  # the lease ran out: sent by the next round
    assert receiver.acknowledged() == [claimed[0].id.hex and str(claimed[0].id)]
    assert deliveries(http, headers, watchlist["id"])[0]["status"] == "delivered"


def test_the_maker_s_own_sender_gets_its_deliveries_claimed_and_as_the_feed_shows_them(
    http, police, token_for, receiver
):
    # The server's worker hands what it makes to its sender without reading it back: the deliveries
    # are written already leased to it (no other worker sends them meanwhile), their bodies are the
    # feed's alerts to the byte, and one it cannot start before its lease runs out is left alone.
    headers = approver(token_for)
    receiver.start()
    watchlist = watch(http, headers, 1, 2, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    push(http, police, 2)
    taken, handed = delivery._make_and_claim_alerts(TIMEOUT)
    assert taken == 2 and len(handed) == 2
    t0 = utcnow()
    assert delivery.claim(t0, TIMEOUT) == []  # leased: nobody else claims them
    assert [(d["status"], d["attempts"]) for d in deliveries(http, headers, watchlist["id"])] == [
        ("pending", 1),
        ("pending", 1),
    ]
    feed = http.get(f"/v1/watchlists/{watchlist['id']}/alerts", headers=headers).json()["items"]
    assert [json.loads(due.body) for due in handed] == feed
    assert all(delivery._still_leased(due, TIMEOUT, t0) for due in handed)
    assert not delivery._still_leased(handed[0], TIMEOUT, handed[0].leased_until - timedelta(seconds=TIMEOUT))

    assert asyncio.run(delivery.deliver_alerts(now=t0, timeout=TIMEOUT, claimed=handed)) == 2
    assert sorted(receiver.acknowledged()) == sorted(str(due.id) for due in handed)
    assert all(got.signature_ok for got in receiver.received)
    assert [d["status"] for d in deliveries(http, headers, watchlist["id"])] == ["delivered", "delivered"]
    assert run(t0 + timedelta(minutes=1)) == 0  # nothing left to claim later


def test_a_change_that_rolls_back_sends_nothing(http, police, token_for, receiver):
    headers = approver(token_for)
    receiver.start()
    watchlist = watch(http, headers, 5, callback_url=receiver.url, secret=SECRET)
    with pytest.raises(RuntimeError), session_scope() as session:
        principal = Principal("c", "national.public_security", frozenset({"records:write"}))
        assert ingest.ingest(session, principal, [record_body(5)])[0].status == "created"
        raise RuntimeError("the request fails after the change")
    assert run(utcnow() + timedelta(seconds=1)) == 0
    assert receiver.received == [] and deliveries(http, headers, watchlist["id"]) == []


def test_after_24_hours_failed_then_retried_on_demand(http, police, token_for, receiver):
    headers = approver(token_for)
    receiver.mode = "error"
    receiver.start()
    watchlist = watch(http, headers, 1, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    make_alerts()
    t0 = utcnow()
    assert run(t0) == 1
    assert run(t0 + timedelta(hours=23, minutes=59, seconds=50)) == 1
    (failed,) = deliveries(http, headers, watchlist["id"], status="failed")
    assert failed["attempts"] == 2 and failed["last_status"] == 500 and failed["next_attempt_at"] is None
    assert "registry_webhook_deliveries_failed 1.0" in http.get("/metrics").text
    assert run(t0 + timedelta(hours=30)) == 0  # given up
    retried = CliRunner().invoke(cli, ["deliveries", "retry", "--watchlist", watchlist["id"]])
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output) == {"deliveries": 1, "subscriptions": 0}
    receiver.mode = "ok"
    assert run(utcnow() + timedelta(seconds=1)) == 1
    assert deliveries(http, headers, watchlist["id"])[0]["status"] == "delivered"


def test_callback_urls_that_would_forge_requests_are_refused(http, token_for, monkeypatch):
    headers = approver(token_for)
    for url in (
        "ftp://example.org/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://metadata.google.internal/",
        "http://user:pw@example.org/",
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata service
        "http://[fec0::1]/hook",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:8901/\r\nX-Injected: 1",
        "http://example.org/a\thook",
    ):
        answer = http.post(
            "/v1/watchlists",
            json={"name": "x", "action": "honors", "callback_url": url, "secret": SECRET},
            headers=headers,
        )
        assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "callback_url", url
    # Development and test: a local receiver is fine; production refuses loopback and private ones.
    callbacks.check("http://127.0.0.1:8080/hook", production=False)
    for url in (
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://192.168.0.9/",
        "http://localhost/",
    ):
        with pytest.raises(callbacks.Refused):
            callbacks.check(url, production=True)
    callbacks.check("https://1.1.1.1/hook", production=True)  # a public address
    missing_secret = http.post(
        "/v1/watchlists",
        json={"name": "x", "action": "honors", "callback_url": "http://127.0.0.1/"},
        headers=headers,
    )
    assert missing_secret.status_code == 422
    assert make_uscc(1)


def _resolving(monkeypatch, name: str, *answers: str) -> list[str]:
    """Every lookup of `name` answers the next of `answers` (the last one from then on): a DNS server
    an attacker controls, rebinding its name between the registry's check and its call. Other names
    and numeric addresses resolve as usual."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host != name:
            return real(host, *args, **kwargs)
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _post(url: str, delivery_id: str = "d1", timeout: float = 5.0) -> delivery.Outcome:
    body = b'{"id": "%s"}' % delivery_id.encode()
    return delivery.post(delivery.pin(url), SECRET, delivery_id, body, "alert", timeout)


def test_a_callback_name_rebound_to_the_metadata_address_is_never_called(monkeypatch):
    # Given as a public name, resolving later to 169.254.169.254: refused at the delivery, in
    # development too (link-local is refused in every environment), and nothing is sent.
    _resolving(monkeypatch, "hooks.example.org", "93.184.216.34", "169.254.169.254")
    callbacks.check("http://hooks.example.org/x", production=False)
    sent = []
    monkeypatch.setattr(sender, "post", lambda *args: sent.append(args) or 204)
    outcome = _post("http://hooks.example.org/x")
    assert not outcome.ok and "refused" in (outcome.error or "") and sent == []


def test_a_delivery_goes_to_the_address_that_was_checked(monkeypatch, receiver):
    # The name is resolved once per delivery and the POST connects to that address (the name kept
    # in Host), so no second lookup can be rebound elsewhere: the name's next answer would be the
    # metadata address.
    receiver.start()
    asked = _resolving(monkeypatch, "hooks.example.org", "127.0.0.1", "169.254.169.254")
    outcome = _post(f"http://hooks.example.org:{receiver.port}/x?a=1")
    assert outcome.ok and asked == ["hooks.example.org"]
    (got,) = receiver.received
    assert got.host == f"hooks.example.org:{receiver.port}" and got.path == "/x?a=1" and got.signature_ok


def test_a_round_resolves_its_callback_name_once_and_sends_every_post_there(
    http, police, token_for, monkeypatch, receiver
):
    # The name is looked up when the watchlist is made and once when the round starts; the round's
    # three POSTs all go to the address that lookup gave, though the name has moved on since.
    receiver.start()
    asked = _resolving(monkeypatch, "hooks.example.org", "127.0.0.1", "127.0.0.1", "169.254.169.254")
    url = f"http://hooks.example.org:{receiver.port}/hook"
    watchlist = watch(http, approver(token_for), 1, 2, 3, callback_url=url, secret=SECRET)
    for n in (1, 2, 3):
        push(http, police, n)
    assert make_alerts() == 3 and run(utcnow()) == 3
    assert asked == ["hooks.example.org"] * 2
    assert sorted(receiver.acknowledged()) == sorted(
        d["id"] for d in deliveries(http, approver(token_for), watchlist["id"])
    )
    assert {r.host for r in receiver.received} == {f"hooks.example.org:{receiver.port}"}


def test_a_callback_url_goes_on_the_wire_in_ascii(monkeypatch):
    # An internationalized name in its IDNA form (Host and TLS name), the path and query
    # percent-encoded where they were not, an encoding already there kept, the fragment not sent.
    _resolving(monkeypatch, "bücher.example", "93.184.216.34")
    target = callbacks.pinned("https://Bücher.example:8443/x y?q=ä b&c=%20#part", production=False)
    assert (target.scheme, target.address, target.port) == ("https", "93.184.216.34", 8443)
    assert target.host == "xn--bcher-kva.example:8443" and target.server_name == "xn--bcher-kva.example"
    assert target.path == "/x%20y?q=%C3%A4%20b&c=%20"
    assert callbacks.pinned("http://[::1]/", production=False).host == "[::1]"
    with pytest.raises(callbacks.Refused):
        callbacks.check("http://a..b.example/", production=False)  # an empty label has no ASCII form


def test_a_callback_name_that_does_not_resolve_at_delivery_is_not_called(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sent = []
    monkeypatch.setattr(sender, "post", lambda *args: sent.append(args) or 204)
    outcome = _post("http://hooks.example.org/x")
    assert not outcome.ok and sent == []


def test_tls_connects_to_the_checked_address_and_verifies_the_callback_name(monkeypatch, tmp_path):
    # A receiver at 127.0.0.1 whose certificate names hooks.example.org: reached under that name
    # (the socket to the checked address, the certificate verified against the name), refused
    # under any other name the same address might be given for.
    authority, key_file, cert_file = _certificate(tmp_path, "hooks.example.org")
    monkeypatch.setattr(sender, "_tls", lambda: ssl.create_default_context(cadata=authority))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    receiver = Receiver(SECRET, tls=context)
    receiver.start()
    try:
        _resolving(monkeypatch, "hooks.example.org", "127.0.0.1")
        _resolving(monkeypatch, "other.example.org", "127.0.0.1")
        assert _post(f"https://hooks.example.org:{receiver.port}/hook").ok
        refused = _post(f"https://other.example.org:{receiver.port}/hook", "d2")
        assert not refused.ok and "CERTIFICATE_VERIFY_FAILED" in (refused.error or "")
        assert [r.delivery_id for r in receiver.received] == ["d1"]
    finally:
        receiver.stop()


def _certificate(directory, name: str) -> tuple[str, str, str]:
    """A self-signed certificate for `name`: (its PEM, the key file, the certificate file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)  # the real time: TLS checks it, whatever the tests' clock says
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_text(pem)
    return pem, str(key_file), str(cert_file)


def test_connections_are_kept_but_never_shared_across_callback_names(monkeypatch, receiver):
    # Two POSTs to one callback share a connection; the same address under another name gets its
    # own (a connection verified for one name must never carry another name's alert).
    receiver.start()
    _resolving(monkeypatch, "hooks.example.org", "127.0.0.1")
    _resolving(monkeypatch, "other.example.org", "127.0.0.1")
    assert _post(f"http://hooks.example.org:{receiver.port}/a", "d1").ok
    assert _post(f"http://hooks.example.org:{receiver.port}/b", "d2").ok
    assert _post(f"http://other.example.org:{receiver.port}/a", "d3").ok
    first, second, third = (r.peer for r in receiver.received)
    assert first == second and third != first


def test_a_long_answer_or_a_connection_closed_unannounced_still_acknowledges(receiver):
    # A 1 MiB answer is not read whole (the connection is closed instead of kept); a kept connection
    # the receiver closed without saying so is replaced, the POST made again on a new one.
    receiver.start()
    url = f"http://127.0.0.1:{receiver.port}/hook"
    receiver.mode = "long"
    assert _post(url, "d1").ok and _post(url, "d2").ok
    receiver.mode = "drop"
    assert _post(url, "d3").ok
    assert _post(url, "d4").ok  # on the connection the receiver closed: sent again, on a new one
    assert [r.delivery_id for r in receiver.received] == ["d1", "d2", "d3", "d4"]
    peers = [r.peer for r in receiver.received]
    assert peers[0] != peers[1] and peers[2] != peers[3]


def _answering(*answers: bytes) -> tuple[str, list[bytes]]:
    """A receiver that is not a well-behaved HTTP server: each connection gets the next of `answers`
    (raw bytes) once a request arrived, then is closed; the requests it read are kept."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        with listener:
            for answer in answers:
                connection, _ = listener.accept()
                with connection:
                    requests.append(connection.recv(65536))
                    connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/hook?a=1", requests


def test_odd_answers_are_read_as_what_they_are():
    url, requests = _answering(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nno length, ended by closing",
        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"",
    )
    assert _post(url, "d1").ok  # acknowledged though the receiver closed instead of a length
    moved = _post(url, "d2")
    assert (moved.ok, moved.status) == (False, 302)  # never followed, not an acknowledgement
    garbage = _post(url, "d3")
    assert not garbage.ok and "HTTP" in garbage.error
    silent = _post(url, "d4")
    assert not silent.ok and "RemoteDisconnected" in silent.error
    head = requests[0].split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert head[0] == "POST /hook?a=1 HTTP/1.1"
    assert "Host: 127.0.0.1:" + url.split(":")[2].split("/")[0] in head
    assert "Content-Length: 12" in head and requests[0].endswith(b'\r\n\r\n{"id": "d1"}')


def test_a_line_break_never_reaches_the_request_head():
    target = callbacks.pinned("http://127.0.0.1:9/hook", production=False)
    with pytest.raises(ValueError):
        sender.request_head(target, {"X-Registry-Delivery": "d1\r\nX-Evil: 1"}, 0)


def test_metadata_addresses_in_other_spellings_are_refused_in_every_environment():
    for url in (
        "http://169.254.169.254./",  # a trailing dot
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[::169.254.169.254]/",  # IPv4-compatible
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[64:ff9b:1::a9fe:a9fe]/",  # NAT64's local-use prefix (RFC 8215)
        "http://[::ffff:0:a9fe:a9fe]/",  # SIIT's IPv4-translated form
        "http://169.254.169.254 /",  # a space in the host
    ):
        with pytest.raises(callbacks.Refused):
            callbacks.check(url, production=False)
    # IANA's special-purpose block (dummy, relay addresses): internal, refused in production.
    with pytest.raises(callbacks.Refused):
        callbacks.check("http://192.0.0.8/hook", production=True)


def test_a_revoked_clients_webhooks_stop(http, police, token_for, receiver):
    # Revoking a client cuts its data off: its tokens within 30 s, and its webhooks with them.
    from sqlalchemy import select

    from app.auth import service as auth
    from app.monitoring.models import Watchlist

    headers = approver(token_for)
    receiver.start()
    watchlist = watch(http, headers, 1, 2, callback_url=receiver.url, secret=SECRET)
    push(http, police, 1)
    assert make_alerts() == 1  # its delivery waits
    with session_scope() as session:
        client_id = session.scalar(
            select(Watchlist.client_id).where(Watchlist.id == uuid.UUID(watchlist["id"]))
        )
        auth.revoke_client(session, client_id, "operator:test")
    auth._client_status.clear()  # as 30 seconds later in every process
    push(http, police, 2)
    make_alerts()
    assert run(utcnow() + timedelta(seconds=1)) == 0
    assert receiver.received == []
    with session_scope() as session:
        from app.monitoring.models import Delivery

        rows = session.execute(select(Delivery.status, Delivery.last_error)).all()
    assert rows == [("failed", delivery.REVOKED)]  # the one made before; none made after
