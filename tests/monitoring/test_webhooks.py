"""Webhooks to a real receiver: down, answering 500, too slow, then back — every alert delivered,
signed, under one delivery id each, none acknowledged twice; a crash mid-delivery loses nothing; a
change that rolls back sends nothing; after 24 hours a delivery is failed, and retried on demand."""

import asyncio
import json
import socket
from datetime import timedelta

import httpx
import pytest
from typer.testing import CliRunner

from app.auth.service import Principal
from app.cli import cli
from app.db import session_scope
from app.kit.clock import utcnow
from app.monitoring import callbacks, delivery
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
    from datetime import datetime

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


def _resolving(monkeypatch, *answers: str) -> list[str]:
    """Every lookup of a name answers the next of `answers` (the last one from then on): a DNS
    server an attacker controls, rebinding its name between the registry's check and its call."""
    asked: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _recording_client() -> tuple[httpx.Client, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    return httpx.Client(transport=httpx.MockTransport(handle), follow_redirects=False), sent


def test_a_callback_name_rebound_to_the_metadata_address_is_never_called(monkeypatch):
    # Given as a public name, resolving later to 169.254.169.254: refused at the delivery, in
    # development too (link-local is refused in every environment), and nothing is sent.
    _resolving(monkeypatch, "93.184.216.34", "169.254.169.254")
    callbacks.check("http://hooks.example.org/x", production=False)
    client, sent = _recording_client()
    outcome = delivery.post(client, "http://hooks.example.org/x", SECRET, "d1", b"{}", "alert")
    assert not outcome.ok and "refused" in (outcome.error or "") and sent == []


def test_a_delivery_goes_to_the_address_that_was_checked(monkeypatch):
    # The name is resolved once per delivery and the POST goes to that address (the name kept in
    # Host and for TLS), so a second lookup by the HTTP client cannot be rebound elsewhere.
    asked = _resolving(monkeypatch, "93.184.216.34", "169.254.169.254")
    client, sent = _recording_client()
    outcome = delivery.post(client, "https://hooks.example.org:8443/x?a=1", SECRET, "d1", b"{}", "alert")
    assert outcome.ok and asked == ["hooks.example.org"]
    (request,) = sent
    assert request.url.host == "93.184.216.34" and request.url.port == 8443 and request.url.path == "/x"
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"


def test_a_callback_name_that_does_not_resolve_at_delivery_is_not_called(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client, sent = _recording_client()
    outcome = delivery.post(client, "http://hooks.example.org/x", SECRET, "d1", b"{}", "alert")
    assert not outcome.ok and sent == []


def test_metadata_addresses_in_other_spellings_are_refused_in_every_environment():
    for url in (
        "http://169.254.169.254./",  # a trailing dot
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[::169.254.169.254]/",  # IPv4-compatible
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://169.254.169.254 /",  # a space in the host
    ):
        with pytest.raises(callbacks.Refused):
            callbacks.check(url, production=False)


def test_connections_are_kept_per_callback_host_never_shared_across_hosts():
    # POSTs go to the checked address with the name as Host and TLS server name; a connection pooled
    # by address and verified for one name must never carry another name's alert.
    first = delivery._client_for("https://hooks.bank.example/a", 5.0)
    assert delivery._client_for("https://hooks.bank.example:443/b", 5.0) is first  # kept between rounds
    assert delivery._client_for("https://other.example/a", 5.0) is not first
    assert delivery._client_for("https://hooks.bank.example/a", 1.0) is not first
