"""Change-feed subscriptions: another platform receives /v1/changes pushed, in order, at least once."""

import asyncio
from datetime import timedelta

from app.kit.clock import utcnow
from app.monitoring import delivery
from tests.monitoring.helpers import push
from tests.monitoring.receiver import Receiver

SECRET = "subscriber-secret-0123456789"


def run(at):
    return asyncio.run(delivery.run_once(now=at, timeout=0.5))


def test_the_feed_is_pushed_in_order_and_resumes_where_it_failed(http, police, token_for):
    receiver = Receiver(SECRET)
    receiver.mode = "error"
    receiver.start()
    try:
        platform = token_for("national.public_security", "records:read")
        push(http, police, 1)  # before the subscription: not sent
        answer = http.post(
            "/v1/subscriptions", json={"callback_url": receiver.url, "secret": SECRET}, headers=platform
        )
        assert answer.status_code == 201, answer.text
        subscription = answer.json()
        first = push(http, police, 2)
        push(http, police, 3)
        patched = http.patch(
            f"/v1/records/{first['id']}",
            json={"conduct": "更正后的违法行为", "reason": "补正"},
            headers=police | {"If-Match": '"1"'},
        )
        assert patched.status_code == 200, patched.text
        feed = http.get("/v1/changes", params={"after": subscription["cursor"]}, headers=platform).json()[
            "items"
        ]
        assert [item["event"] for item in feed] == ["record.created", "record.created", "record.updated"]

        t0 = utcnow()
        assert run(t0) == 1  # the first change fails: nothing after it is sent
        state = http.get(f"/v1/subscriptions/{subscription['id']}", headers=platform).json()
        assert state["cursor"] == subscription["cursor"] and state["last_status"] == 500
        assert state["attempts"] == 1 and state["failing_since"]

        receiver.mode = "ok"
        assert run(t0 + timedelta(seconds=6)) == 3
        got = [(r.delivery_id, r.body) for r in receiver.received if r.mode == "ok"]
        assert [body for _, body in got] == feed  # every change, in the feed's order
        assert all(r.signature_ok for r in receiver.received)
        assert receiver.received[0].delivery_id == got[0][0]  # the retry kept its delivery id
        assert len({delivery_id for delivery_id, _ in got}) == 3
        state = http.get(f"/v1/subscriptions/{subscription['id']}", headers=platform).json()
        assert state["cursor"] == feed[-1]["cursor"] and state["attempts"] == 0
        assert run(t0 + timedelta(seconds=60)) == 0

        stranger = token_for("national.supreme_court", "records:read")
        path = f"/v1/subscriptions/{subscription['id']}"
        assert http.get(path, headers=stranger).status_code == 404
        assert http.delete(path, headers=platform).status_code == 200
        assert http.get(path, headers=platform).status_code == 404
        refused = http.post(
            "/v1/subscriptions",
            json={"callback_url": "http://169.254.169.254/", "secret": SECRET},
            headers=platform,
        )
        assert refused.status_code == 422
    finally:
        receiver.stop()


def test_a_subscriber_silent_for_24_hours_is_failed_then_resumed(http, police, token_for):
    receiver = Receiver(SECRET)
    receiver.mode = "error"
    receiver.start()
    try:
        platform = token_for("national.public_security", "records:read")
        subscription = http.post(
            "/v1/subscriptions", json={"callback_url": receiver.url, "secret": SECRET}, headers=platform
        ).json()
        push(http, police, 1)
        t0 = utcnow()
        assert run(t0) == 1
        assert run(t0 + timedelta(hours=24)) == 1
        state = http.get(f"/v1/subscriptions/{subscription['id']}", headers=platform).json()
        assert state["status"] == "failed" and state["next_attempt_at"] is None
        assert run(t0 + timedelta(hours=30)) == 0
        assert delivery.retry_failed() == {"deliveries": 0, "subscriptions": 1}
        receiver.mode = "ok"
        assert run(utcnow() + timedelta(seconds=1)) == 1
        assert len(receiver.acknowledged()) == 1
    finally:
        receiver.stop()


def test_a_revoked_subscribers_feed_stops(http, police, token_for):
    import uuid

    from sqlalchemy import select

    from app.auth import service as auth
    from app.db import session_scope
    from app.monitoring.models import Subscription

    receiver = Receiver(SECRET)
    receiver.start()
    try:
        platform = token_for("national.public_security", "records:read")
        answer = http.post(
            "/v1/subscriptions", json={"callback_url": receiver.url, "secret": SECRET}, headers=platform
        )
        subscription = answer.json()
        with session_scope() as session:
            row = session.get(Subscription, uuid.UUID(subscription["id"]))
            assert row is not None
            auth.revoke_client(session, row.client_id, "operator:test")
        auth._client_status.clear()  # as 30 seconds later in every process
        push(http, police, 4)
        assert run(utcnow()) == 0 and receiver.received == []
        with session_scope() as session:
            status = session.scalar(select(Subscription.status))
        assert status == "failed"
    finally:
        receiver.stop()


def test_a_cursor_the_feed_has_not_reached_is_refused(http, police, token_for):
    platform = token_for("national.public_security", "records:read")
    push(http, police, 1)
    head = http.get("/v1/changes", params={"after": "0"}, headers=platform).json()["items"][-1]["cursor"]
    body = {"callback_url": "https://platform.example/feed", "secret": SECRET}
    beyond = http.post("/v1/subscriptions", json=body | {"after": "999999999999999999"}, headers=platform)
    assert beyond.status_code == 422 and beyond.json()["fields"][0]["field"] == "after", beyond.text
    at_head = http.post("/v1/subscriptions", json=body | {"after": head}, headers=platform)
    assert at_head.status_code == 201 and at_head.json()["cursor"] == head, at_head.text
