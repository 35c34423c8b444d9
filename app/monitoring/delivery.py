"""The delivery worker: makes the alerts from the outbox of changes (app.monitoring.alerts.make),
then pushes the alerts' webhooks (and the change feed to subscribers), at least once, surviving
restarts.

- A delivery is claimed before it is sent: in one short transaction its attempt is counted and its
  next attempt moved a lease ahead (the request timeout and a margin), so that another process — or
  this one after a crash — sends it again only once the lease has run out. On PostgreSQL rows are
  claimed with FOR UPDATE SKIP LOCKED: several server processes deliver each alert once; on SQLite
  the writing transaction excludes the others (one process).
- POST to the callback URL (app.monitoring.sender) with the alert as JSON, `X-Registry-Signature:
  sha256=<hex HMAC-SHA256 of the body with the watchlist's secret>` and `X-Registry-Delivery: <id>`,
  the same id on every attempt (a receiver drops a second copy by it). Any 2xx acknowledges;
  redirects are not followed.
- Otherwise (an error status, a timeout, no answer) it is retried after 5 s, then 10 s, 20 s, ...,
  at most an hour apart, for 24 hours from the alert; then it is marked failed, shown in
  GET /v1/watchlists/{id}/deliveries, and `registry deliveries retry` queues it again.
- Subscriptions are sent the same way, one change after another in the feed's order (the next one
  only once the previous one is acknowledged): in order per record, and for the whole feed.
"""

import asyncio
import hashlib
import hmac
import http.client
import logging
import queue
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.service import Principal, client_is_active
from app.config import get_settings
from app.db import column_in, get_engine, get_read_engine, session_scope
from app.kit.clock import china_today, utcnow
from app.monitoring import alerts, callbacks, sender, wake
from app.monitoring.models import Alert, Delivery, Subscription, WatchChange, Watchlist
from app.monitoring.schemas import ChangeOut
from app.monitoring.service import ALERT_COLUMNS, alert_json
from app.records import changes as change_feed

log = logging.getLogger("registry.deliveries")

FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE_MARGIN = timedelta(seconds=20)
CLAIM_BATCH = 200
# Deliveries the maker hands its own sender at most (their bodies held in memory, ~4 KB each); past
# it, the alerts it makes wait as rows to be claimed.
HANDED_OVER = 1000
# POSTs in flight at once per round, each sending thread over the connections it keeps: enough that
# a slow receiver does not hold up the rest; more threads only queue on the GIL (6 measured no better
# than 16 at the size; an async client with 200 queued was far slower: docs/benchmarks.md).
CONCURRENCY = 16
# Changes sent to one subscriber per round, one after another.
FEED_BATCH = 100
SIGNATURE_HEADER = "X-Registry-Signature"
DELIVERY_HEADER = "X-Registry-Delivery"
_FEED_NAMESPACE = uuid.UUID("5b7c1f0e-4d0a-4c39-9a51-0d6f2f1c8e11")

ATTEMPTS = Counter("registry_webhook_attempts_total", "Webhook POSTs by outcome", ["kind", "outcome"])
PENDING = Gauge("registry_webhook_deliveries_pending", "Alert deliveries not yet acknowledged")
FAILED = Gauge("registry_webhook_deliveries_failed", "Alert deliveries given up after 24 hours")
LAG = Gauge(
    "registry_webhook_delivery_lag_seconds",
    "Age of the oldest alert delivery not yet acknowledged (0: none waiting)",
)
SUBSCRIPTIONS_FAILED = Gauge("registry_subscriptions_failed", "Change-feed subscriptions given up")
CHANGES_PENDING = Gauge(
    "registry_alert_changes_pending", "Changes in the outbox whose alerts are not made yet"
)
CHANGES_LAG = Gauge(
    "registry_alert_changes_lag_seconds",
    "Age of the oldest change whose alerts are not made yet (0: none waiting)",
)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, ..., at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _timeout() -> float:
    return get_settings().webhook_timeout_seconds


# POSTs go out from threads of their own, over connections each thread keeps (app.monitoring.sender).
_senders = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="webhooks")


def _lease(timeout: float) -> timedelta:
    return timedelta(seconds=timeout) + LEASE_MARGIN


@dataclass
class Due:
    id: uuid.UUID
    url: str
    secret: str
    body: bytes
    created_at: datetime
    attempts: int
    leased_until: datetime | None = None  # claimed by this worker as it was made (alerts.Handoff)


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str | None = None


def _for_update(session: Session, query: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


# A revoked client's data stops (its tokens stop working within 30 s; so do its webhooks).
REVOKED = "the client that made it was revoked"


def claim(now: datetime, timeout: float, limit: int = CLAIM_BATCH) -> list[Due]:
    """Up to `limit` due deliveries, each leased to this worker until `now + lease`, with their
    alerts' bodies (read as plain rows, no ORM objects). Alerts and watchlists are read by primary
    key, not joined to the claim: a join's plan, made while the alerts table was small, scanned it
    whole for every delivery once it had grown (seconds per claim; measured)."""
    with session_scope() as session:
        rows = session.execute(
            _for_update(
                session,
                select(Delivery.id, Delivery.alert_id, Delivery.watchlist_id, Delivery.created_at)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(limit),
            )
        ).all()
        if not rows:
            return []
        counted = session.execute(
            update(Delivery)
            .where(column_in(session, Delivery.id, [row.id for row in rows]))
            .values(attempts=Delivery.attempts + 1, next_attempt_at=now + _lease(timeout))
            .returning(Delivery.id, Delivery.attempts)
            .execution_options(synchronize_session=False)
        )
        attempts = {delivery_id: count for delivery_id, count in counted}
        alerts = {
            alert.id: alert
            for alert in session.execute(
                select(*ALERT_COLUMNS).where(column_in(session, Alert.id, [row.alert_id for row in rows]))
            )
        }
        callbacks_of = {
            watchlist_id: (url, secret, client_id)
            for watchlist_id, url, secret, client_id in session.execute(
                select(Watchlist.id, Watchlist.callback_url, Watchlist.secret, Watchlist.client_id).where(
                    Watchlist.id.in_({row.watchlist_id for row in rows})
                )
            )
        }
        due, orphaned, revoked = [], [], []
        for row in rows:
            alert = alerts.get(row.alert_id)
            url, secret, client_id = callbacks_of.get(row.watchlist_id, (None, None, None))
            if alert is None or not url or not secret or client_id is None:
                orphaned.append(row.id)
                continue
            if not client_is_active(client_id):
                revoked.append(row.id)
                continue
            body = alert_json(alert)  # as the feed shows it
            due.append(Due(row.id, url, secret, body, row.created_at, attempts[row.id]))
        for ids, why in ((orphaned, "the watchlist no longer has a callback URL"), (revoked, REVOKED)):
            if ids:
                session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids))
                    .values(status="failed", last_error=why)
                    .execution_options(synchronize_session=False)
                )
        return due


Pin = callbacks.Target | callbacks.Refused


def pin(url: str) -> Pin:
    """Where to send to `url` now: what its name resolves to (it may have changed since it was
    given), checked in every environment, and the POSTs aimed at that very address (no second
    lookup to rebind); or why not. Made once per URL and round."""
    try:
        return callbacks.pinned(url, get_settings().environment == "production")
    except callbacks.Refused as exc:
        return exc


def post(to: Pin, secret: str, delivery_id: str, body: bytes, kind: str, timeout: float) -> Outcome:
    if isinstance(to, callbacks.Refused):
        ATTEMPTS.labels(kind, "refused").inc()
        return Outcome(False, None, f"refused: {to}"[:500])
    try:
        status = sender.post(
            to,
            {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, body),
                DELIVERY_HEADER: delivery_id,
                "X-Registry-Event": kind,
                "User-Agent": "credit-registry-webhooks/1",
            },
            body,
            timeout,
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        ATTEMPTS.labels(kind, "error").inc()
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
    if 200 <= status < 300:
        ATTEMPTS.labels(kind, "acknowledged").inc()
        return Outcome(True, status)
    ATTEMPTS.labels(kind, "refused_by_receiver").inc()
    return Outcome(False, status, f"HTTP {status}")


def settle(results: list[tuple[Due, Outcome]], now: datetime) -> None:
    """Acknowledged deliveries marked delivered, one statement per status code (nearly always one);
    the others scheduled again or given up, row by row (few, and each its own backoff)."""
    acknowledged: dict[int | None, list[uuid.UUID]] = {}
    for due, outcome in results:
        if outcome.ok:
            acknowledged.setdefault(outcome.status, []).append(due.id)
    with session_scope() as session:
        for status, ids in acknowledged.items():
            session.execute(
                update(Delivery)
                # not one deleted or settled meanwhile
                .where(column_in(session, Delivery.id, ids), Delivery.status == "pending")
                .values(status="delivered", delivered_at=now, last_status=status, last_error=None)
                .execution_options(synchronize_session=False)
            )
        failed = [(due, outcome) for due, outcome in results if not outcome.ok]
        if not failed:
            return
        ids = [due.id for due, _ in failed]
        rows = {row.id: row for row in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
        for due, outcome in failed:
            row = rows.get(due.id)
            if row is None or row.status != "pending":
                continue  # deleted with its watchlist, or settled by another worker
            row.last_status, row.last_error = outcome.status, outcome.error
            if now + backoff(row.attempts) - row.created_at > GIVE_UP_AFTER:
                row.status = "failed"
            else:
                row.next_attempt_at = now + backoff(row.attempts)


async def deliver_alerts(
    now: datetime | None = None, timeout: float | None = None, claimed: Sequence[Due] = ()
) -> int:
    """Send every due alert delivery once, and those this worker has `claimed` already (made by it:
    `_make_and_claim_alerts`); the number attempted."""
    timeout = _timeout() if timeout is None else timeout
    due = [*claimed, *await run_in_threadpool(claim, now or utcnow(), timeout)]
    if not due:
        return 0
    pins = {url: pin(url) for url in {d.url for d in due}}
    outcomes = await _post_all(due, pins, timeout)
    await run_in_threadpool(settle, list(zip(due, outcomes, strict=True)), now or utcnow())
    return len(due)


async def _post_all(due: Sequence[Due], pins: dict[str, Pin], timeout: float) -> list[Outcome]:
    """Every delivery POSTed once, by up to CONCURRENCY sending threads each taking the next one
    until none is left (a slow receiver holds up one thread, not the round's order); the outcomes
    in `due`'s order."""
    waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(due)):
        waiting.put(index)
    outcomes: list[Outcome] = [Outcome(False)] * len(due)

    def send_while_any() -> None:
        while True:
            try:
                index = waiting.get_nowait()
            except queue.Empty:
                return
            d = due[index]
            outcomes[index] = post(pins[d.url], d.secret, str(d.id), d.body, "alert", timeout)

    loop = asyncio.get_running_loop()
    threads = min(CONCURRENCY, len(due))
    await asyncio.gather(*(loop.run_in_executor(_senders, send_while_any) for _ in range(threads)))
    return outcomes


# --- the change feed, pushed to subscribers ----------------------------------------------------------


def feed_delivery_id(subscription_id: uuid.UUID, cursor: str) -> str:
    """The same id on every attempt to send one change to one subscriber."""
    return str(uuid.uuid5(_FEED_NAMESPACE, f"{subscription_id}:{cursor}"))


@dataclass
class FeedDue:
    id: uuid.UUID
    url: str
    secret: str
    cursor: int
    items: list[dict[str, Any]]
    last: int  # the cursor past everything read (events the subscriber may not see included)
    lease: timedelta


def claim_feeds(now: datetime, timeout: float) -> list[FeedDue]:
    with session_scope() as session:
        query = select(Subscription).where(
            Subscription.status == "active", Subscription.next_attempt_at <= now
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        subscriptions = session.scalars(query.order_by(Subscription.next_attempt_at).limit(50)).all()
        due = []
        for sub in subscriptions:
            if not client_is_active(sub.client_id):
                sub.status, sub.last_error = "failed", REVOKED
                continue
            principal = Principal(sub.client_id, sub.agency_code, frozenset(sub.scopes.split()))
            items, last = change_feed.changes(session, principal, sub.cursor, FEED_BATCH)
            if not items:
                if last != sub.cursor:
                    sub.cursor = last  # past events this subscriber may not see
                continue
            lease = _lease(timeout) * 2
            sub.next_attempt_at = now + lease
            due.append(FeedDue(sub.id, sub.callback_url, sub.secret, sub.cursor, items, last, lease))
        return due


def _send_feed(due: FeedDue, timeout: float) -> tuple[int, Outcome | None, int]:
    """Send the changes in order, stopping at the first not acknowledged: (the cursor acknowledged,
    the failure if any, the number sent)."""
    acknowledged, sent = due.cursor, 0
    to = pin(due.url)
    started, budget = time.monotonic(), due.lease.total_seconds()
    for item in due.items:
        if time.monotonic() - started + timeout > budget:
            return acknowledged, None, sent  # the lease runs out: the rest next round
        body = ChangeOut.model_validate(item).model_dump_json().encode()  # as GET /v1/changes
        outcome = post(to, due.secret, feed_delivery_id(due.id, item["cursor"]), body, "change", timeout)
        sent += 1
        if not outcome.ok:
            return acknowledged, outcome, sent
        acknowledged = int(item["cursor"])
    return due.last, None, sent


def settle_feeds(results: list[tuple[FeedDue, tuple[int, Outcome | None, int]]], now: datetime) -> None:
    with session_scope() as session:
        for due, (acknowledged, failure, _) in results:
            sub = session.get(Subscription, due.id)
            if sub is None or sub.status != "active":
                continue
            moved = acknowledged > sub.cursor
            sub.cursor = max(sub.cursor, acknowledged)
            if failure is None:
                sub.attempts, sub.failing_since, sub.next_attempt_at = 0, None, now
                sub.last_status, sub.last_error = None, None
                continue
            if moved:
                sub.attempts, sub.failing_since = 0, None
            sub.attempts += 1
            sub.failing_since = sub.failing_since or now
            sub.last_status, sub.last_error = failure.status, failure.error
            if now + backoff(sub.attempts) - sub.failing_since > GIVE_UP_AFTER:
                sub.status = "failed"
            sub.next_attempt_at = now + backoff(sub.attempts)


async def deliver_feeds(now: datetime | None = None, timeout: float | None = None) -> int:
    timeout = _timeout() if timeout is None else timeout
    due = await run_in_threadpool(claim_feeds, now or utcnow(), timeout)
    if not due:
        return 0
    loop = asyncio.get_running_loop()
    sent = await asyncio.gather(*(loop.run_in_executor(_senders, _send_feed, d, timeout) for d in due))
    await run_in_threadpool(settle_feeds, list(zip(due, sent, strict=True)), now or utcnow())
    return sum(count for _, _, count in sent)


def _make_alerts() -> int:
    """Alerts for the next changes of the outbox (a batch); the changes taken (0 also when another
    process is at it: it makes them)."""
    with session_scope() as session:
        return alerts.make(session) or 0


async def make_alerts() -> int:
    return await run_in_threadpool(_make_alerts)


def _make_and_claim_alerts(timeout: float) -> tuple[int, list[Due]]:
    """`_make_alerts`, the deliveries written already claimed by this worker (alerts.Handoff): the
    changes taken and the deliveries to send, their bodies made from what was just written."""
    handoff = alerts.Handoff(until=utcnow() + _lease(timeout))
    with session_scope() as session:
        session.info[alerts.HANDOFF] = handoff
        taken = alerts.make(session) or 0
    return taken, [
        Due(uuid.UUID(delivery_id), url, secret, alert_json(row), row.at, 1, handoff.until)
        for delivery_id, row, url, secret in handoff.made
    ]


def _still_leased(due: Due, timeout: float, now: datetime) -> bool:
    """Whether a POST started now ends before the lease `due` was made with runs out (else it is
    left to the claims: another worker may take it once the lease is over)."""
    return due.leased_until is not None and due.leased_until - timedelta(seconds=timeout) > now


async def run_once(now: datetime | None = None, timeout: float | None = None) -> int:
    """One round: alerts for the next changes, then every due alert delivery and every subscriber's
    next changes; the POSTs made."""
    await make_alerts()
    return await deliver_alerts(now, timeout) + await deliver_feeds(now, timeout)


def _rescan_for_new_day() -> int | None:
    with session_scope() as session:
        return alerts.rescan_for_new_day(session)


async def deliver_forever(poll_seconds: float) -> None:
    """The lifespan's task (and `registry deliveries run`'s): two loops side by side, so that sending
    never waits for making and the other way round. Each runs again at once while it found work,
    else after a pause or when a commit wakes it (an outbox row: the maker; deliveries: the sender),
    this process's or, on PostgreSQL, any process's (app.monitoring.wake)."""
    made: list[Due] = []  # what the maker wrote claimed by this worker, for the sender
    loops = [_make_forever(poll_seconds, made), _send_forever(poll_seconds, made)]
    database = get_engine().url
    if database.get_backend_name() == "postgresql":
        loops.append(wake.listen(database.render_as_string(hide_password=False)))
    await asyncio.gather(*loops)


async def _make_forever(poll_seconds: float, made: list[Due]) -> None:
    """Alerts for the outbox's changes, their deliveries claimed for this worker's sender (`made`).
    When the day turns (China time), watched answers are decided again first (rules take effect and
    end by the day)."""
    day = china_today()
    while True:
        try:
            if china_today() != day:
                day = china_today()
                alerted = await run_in_threadpool(_rescan_for_new_day)
                log.info("new day %s: watched identifiers decided again, %s alerts", day, alerted)
            if len(made) < HANDED_OVER:
                worked, due = await run_in_threadpool(_make_and_claim_alerts, _timeout())
                made.extend(due)
                if due:
                    wake.now(wake.SENDER)
            else:  # the sender is behind: these wait as rows, for the claims
                worked = await make_alerts()
        except Exception:  # the next round tries again; nothing is lost (the rows wait)
            log.exception("making alerts failed")
            worked = 0
        if not worked:
            await wake.wait(poll_seconds, wake.MAKER)


async def _send_forever(poll_seconds: float, made: list[Due]) -> None:
    while True:
        try:
            # What the maker handed over first, up to a round's worth; one whose lease is running out
            # is left to the claims (another worker may be sending it by then).
            taken, made[:] = made[:CLAIM_BATCH], made[CLAIM_BATCH:]
            timeout, now = _timeout(), utcnow()
            claimed = [due for due in taken if _still_leased(due, timeout, now)]
            worked = await deliver_alerts(claimed=claimed) + await deliver_feeds()
        except Exception:  # the next round tries again; nothing is lost (the rows wait)
            log.exception("webhook delivery round failed")
            worked = 0
        if not worked and not made:
            await wake.wait(poll_seconds, wake.SENDER)


def retry_failed(watchlist_id: uuid.UUID | None = None) -> dict[str, int]:
    """Queue failed deliveries (and failed subscriptions) again, with a fresh 24 hours."""
    now = utcnow()
    with session_scope() as session:
        query = update(Delivery).where(Delivery.status == "failed")
        if watchlist_id is not None:
            query = query.where(Delivery.watchlist_id == watchlist_id)
        deliveries = session.execute(
            query.values(status="pending", attempts=0, created_at=now, next_attempt_at=now)
        ).rowcount  # type: ignore[attr-defined]
        subscriptions = 0
        if watchlist_id is None:
            subscriptions = session.execute(
                update(Subscription)
                .where(Subscription.status == "failed")
                .values(status="active", attempts=0, failing_since=None, next_attempt_at=now)
            ).rowcount  # type: ignore[attr-defined]
        if deliveries or subscriptions:  # sent at once, by this process or (`registry deliveries
            wake.after_commit(session)  # retry` is a process apart) by the servers'
            wake.notify_others(session, wake.SENDER)
    return {"deliveries": deliveries, "subscriptions": subscriptions}


def refresh_gauges() -> None:
    """Pending, failed and the lag, and the outbox's changes waiting for their alerts, for /metrics
    (indexed counts on the read engine)."""
    now = utcnow()
    with get_read_engine().connect() as connection:
        counts = dict(
            connection.execute(
                select(Delivery.status, func.count())
                .where(Delivery.status.in_(("pending", "failed")))
                .group_by(Delivery.status)
            ).all()
        )
        oldest = connection.execute(
            select(func.min(Delivery.created_at)).where(Delivery.status == "pending")
        ).scalar()
        failed_subscriptions = connection.execute(
            select(func.count()).select_from(Subscription).where(Subscription.status == "failed")
        ).scalar()
        changes, oldest_change = connection.execute(
            select(func.count(), func.min(WatchChange.created_at)).where(WatchChange.done_at.is_(None))
        ).one()
    PENDING.set(counts.get("pending", 0))
    FAILED.set(counts.get("failed", 0))
    LAG.set(_age(now, oldest))
    SUBSCRIPTIONS_FAILED.set(failed_subscriptions or 0)
    CHANGES_PENDING.set(changes or 0)
    CHANGES_LAG.set(_age(now, oldest_change))


def _age(now: datetime, oldest: Any) -> float:
    if isinstance(oldest, str):  # SQLite through a bare connection: the column's text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
