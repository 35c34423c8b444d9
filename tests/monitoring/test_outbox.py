"""The alerts' outbox: a change writes only a small row in its transaction; the worker makes the
alerts after commit, once, in order, even when a row is made twice or two workers are at it."""

import pytest
from sqlalchemy import select, update

from app.db import get_engine, session_scope
from app.monitoring import alerts as alerting
from app.monitoring.models import Alert, Delivery, WatchChange
from tests.conftest import make_uscc
from tests.monitoring.helpers import alerts, approver, make_alerts, push, watch


def _changes() -> list[WatchChange]:
    with session_scope(writing=False) as session:
        return list(session.scalars(select(WatchChange).order_by(WatchChange.seq)))


def _count(model) -> int:
    with session_scope(writing=False) as session:
        return len(session.scalars(select(model)).all())


def test_a_push_writes_only_its_outbox_row_and_the_worker_makes_the_alert(http, police, token_for):
    headers = approver(token_for)
    push(http, police, 7)  # nothing watched yet: no outbox row at all
    assert _changes() == []
    watchlist = watch(http, headers, 1, callback_url="http://127.0.0.1:9/hook", secret="s" * 20)
    record = push(http, police, 1)
    (change,) = _changes()
    assert change.done_at is None and change.audit_seq > 0
    assert record["id"] in change.events and "record.created" in change.events
    assert _count(Alert) == 0 and _count(Delivery) == 0  # nothing decided in the push's transaction
    assert make_alerts() == 1
    (alert,) = alerts(http, headers, watchlist["id"])
    assert alert["identifier"] == make_uscc(1) and alert["record_id"] == record["id"]
    assert _count(Delivery) == 1 and all(c.done_at is not None for c in _changes())
    assert make_alerts() == 0  # done: not taken again


def test_a_change_made_twice_makes_no_second_alert(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2, callback_url="http://127.0.0.1:9/hook", secret="s" * 20)
    push(http, police, 1)
    push(http, police, 2)
    assert make_alerts() == 2
    # A second worker, or this one after a restart, taking the same rows again: the fingerprints
    # were stored with the alerts, so nothing changed since and nothing more is made.
    with session_scope() as session:
        session.execute(update(WatchChange).values(done_at=None))
    assert make_alerts() == 2
    assert len(alerts(http, headers, watchlist["id"])) == 2 and _count(Delivery) == 2


def test_several_changes_taken_at_once_keep_each_identifiers_order(http, police, token_for):
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2)
    first = push(http, police, 1)
    push(http, police, 2)
    revoked = http.post(
        f"/v1/records/{first['id']}/revoke",
        json={"reason": "决定被撤销", "decision_no": "公撤字〔2026〕2号"},
        headers=police,
    )
    assert revoked.status_code == 200, revoked.text
    # The worker was behind: identifier 1 was listed, then cleared, before it looked. It is told
    # once, by the latest change, what a check answers now (the company is known now: no records in
    # force); never a listing that no longer holds. Identifier 2 is told its listing.
    items = alerts(http, headers, watchlist["id"])
    told = [(a["identifier"], a["event"], a["decision_after"], len(a["check"]["records"])) for a in items]
    assert told[0] == (make_uscc(1), "record.revoked", "clear", 0)
    assert told[1][:2] == (make_uscc(2), "record.created") and told[1][3] == 1 and len(told) == 2
    push(http, police, 1, external_id="again-1")
    make_alerts()
    push(http, police, 2, severity="general", external_id="g-2")
    later = alerts(http, headers, watchlist["id"], after=items[-1]["cursor"])
    assert [a["identifier"] for a in later] == [make_uscc(1)] + [make_uscc(2)] * (len(later) - 1)
    assert [int(a["cursor"]) for a in later] == sorted(int(a["cursor"]) for a in later)


def test_a_maker_behind_catches_up_in_rounds_sent_between(http, police, token_for, monkeypatch):
    # A round's alerts are sent only once it commits: a maker that fell behind takes the waiting
    # changes a few events at a time (here two), each round's alerts committed before the next.
    monkeypatch.setattr(alerting, "MAKE_EVENTS", 2)
    headers = approver(token_for)
    watchlist = watch(http, headers, 1, 2, 3)
    for n in (1, 2, 3):
        push(http, police, n)
    with session_scope() as session:
        assert alerting.make(session) == 2
    assert [a["identifier"] for a in _feed(http, headers, watchlist["id"])] == [make_uscc(1), make_uscc(2)]
    with session_scope() as session:
        assert alerting.make(session) == 1
    assert len(_feed(http, headers, watchlist["id"])) == 3


def _feed(http, headers, watchlist_id):
    """The alerts made so far (no maker run first)."""
    answer = http.get(f"/v1/watchlists/{watchlist_id}/alerts", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


@pytest.mark.skipif(get_engine().dialect.name != "postgresql", reason="SQLite has one writer anyway")
def test_one_alert_maker_at_a_time(http, police, token_for):
    headers = approver(token_for)
    watch(http, headers, 1)
    push(http, police, 1)
    with session_scope() as first:
        assert alerting.make(first) == 1  # holds the makers' lock until it commits
        with session_scope() as second:
            assert alerting.make(second) is None  # another process is at it: it skips the round
    assert make_alerts() == 0 and _count(Alert) == 1


def test_rule_changes_taken_at_once_are_one_pass_telling_only_what_holds(http, police, token_for):
    from tests.monitoring.test_volume import PROHIBIT

    headers = approver(token_for)
    admin = token_for("national.credit_office", "rules:admin")
    watchlist = watch(http, headers, 1)
    push(http, police, 1)
    assert len(alerts(http, headers, watchlist["id"])) == 1
    rule = http.post("/v1/admin/rules", json=PROHIBIT | {"effective_from": "2026-11-22"}, headers=admin)
    assert rule.status_code == 201, rule.text
    retired = http.delete(f"/v1/admin/rules/{rule.json()['id']}", headers=admin)
    assert retired.status_code == 200, retired.text
    # Both changes wait in the outbox: taken together, the answer is what it was, so no alert.
    assert len(_changes()) == 3 and make_alerts() == 2
    assert len(alerts(http, headers, watchlist["id"])) == 1
    rule = http.post("/v1/admin/rules", json=PROHIBIT | {"effective_from": "2026-11-22"}, headers=admin)
    last = alerts(http, headers, watchlist["id"])[-1]
    assert (last["event"], last["decision_after"]) == ("rule.created", "prohibit")
