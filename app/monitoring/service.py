"""Watchlists: made, changed, read and deleted by their owner (the approver's agency; any other
agency is told they do not exist), and the feeds of their alerts and deliveries. Services flush,
never commit: the request's transaction holds the change and its audit entry."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import access
from app.audit import service as audit
from app.auth.service import Principal
from app.checks.flows import NEVER_ISSUED
from app.db import after_position, bulk_insert, column_in, serialize_writers
from app.errors import NotFound, ValidationFailed
from app.kit.clock import utcnow
from app.kit.identifiers import IdentifierError, is_registry_reference, recognize
from app.monitoring import alerts as alerting
from app.monitoring import callbacks
from app.monitoring.models import Alert, Delivery, Subscription, WatchItem, Watchlist
from app.monitoring.schemas import MAX_IDENTIFIERS, IdentifiersIn, SubscriptionIn, WatchlistIn
from app.records import references, repository

# At most this many identifiers named wrong in one 422 (the rest are wrong the same way).
MAX_FIELD_ERRORS = 50


def normalized(identifiers: Sequence[str], field: str, session: Session | None = None) -> list[str]:
    """Each identifier in its normal form, validated as a check validates it (GB 32100, GB 11643):
    a code that cannot exist is refused, naming its index. With a `session`, so is a registry
    reference (R…) the registry never issued, as a check refuses it: a watchlist would otherwise
    answer "clear" about it, with a signed receipt, forever (API.md, second release)."""
    out: list[tuple[int, str]] = []
    refused: list[tuple[int, str]] = []
    for index, identifier in enumerate(identifiers):
        try:
            out.append((index, recognize(identifier)[1]))
        except IdentifierError as exc:
            refused.append((index, str(exc)))
    if session is not None:
        unissued = _never_issued(session, [identifier for _, identifier in out])
        refused += [(index, NEVER_ISSUED) for index, key in out if key in unissued]
    if refused:
        refused.sort()
        raise ValidationFailed(
            [{"field": f"{field}[{index}]", "detail": why} for index, why in refused[:MAX_FIELD_ERRORS]]
        )
    return list(dict.fromkeys(identifier for _, identifier in out))


def _never_issued(session: Session, identifiers: list[str]) -> set[str]:
    wanted = sorted({identifier for identifier in identifiers if is_registry_reference(identifier)})
    issued: set[str] = set()
    for start in range(0, len(wanted), alerting.READ_CHUNK):
        issued |= references.issued(session, wanted[start : start + alerting.READ_CHUNK])
    return set(wanted) - issued


def create(session: Session, principal: Principal, body: WatchlistIn) -> Watchlist:
    if (body.callback_url is None) != (body.secret is None):
        raise ValidationFailed.one("secret", "a callback_url and its secret come together")
    callbacks.validated(body.callback_url)
    identifiers = normalized(body.identifiers, "identifiers", session)
    serialize_writers(session)  # decisions read and stored against the same state as changes see
    watchlist = Watchlist(
        id=uuid.uuid4(),
        agency_code=principal.agency_code,
        client_id=principal.client_id,
        name=body.name,
        action=body.action,
        callback_url=body.callback_url,
        secret=body.secret,
        created_at=utcnow(),
    )
    session.add(watchlist)
    session.flush()
    _add(session, watchlist, identifiers)
    audit.append(
        session,
        principal.actor,
        [
            audit.Event(
                "watchlist.created",
                "watchlist",
                str(watchlist.id),
                {
                    "name": watchlist.name,
                    "action": watchlist.action,
                    "identifiers": len(identifiers),
                    "callback_url": watchlist.callback_url,
                },
            )
        ],
    )
    return watchlist


def _add(session: Session, watchlist: Watchlist, identifiers: list[str]) -> int:
    if not identifiers:
        return 0
    have: set[str] = set()
    for start in range(0, len(identifiers), alerting.READ_CHUNK):
        chunk = identifiers[start : start + alerting.READ_CHUNK]
        have.update(
            session.scalars(
                select(WatchItem.identifier).where(
                    WatchItem.watchlist_id == watchlist.id, column_in(session, WatchItem.identifier, chunk)
                )
            )
        )
    new = [identifier for identifier in identifiers if identifier not in have]
    now = utcnow()
    known = alerting.initial(session, watchlist, new)
    bulk_insert(
        session,
        WatchItem,
        [
            {
                "watchlist_id": watchlist.id,
                "identifier": identifier,
                "decision": known[identifier].decision,
                "fingerprint": known[identifier].fingerprint,
                "updated_at": now,
            }
            for identifier in new
        ],
    )
    return len(new)


def find(session: Session, principal: Principal, watchlist_id: uuid.UUID) -> Watchlist:
    """The watchlist if the caller's agency owns it; another agency's is not found (not forbidden:
    whether it exists is the owner's business)."""
    watchlist = session.get(Watchlist, watchlist_id)
    if watchlist is None or watchlist.agency_code != principal.agency_code:
        raise NotFound(f"no watchlist {watchlist_id}")
    return watchlist


def owned(session: Session, principal: Principal) -> list[Watchlist]:
    """The caller's agency's watchlists, oldest first."""
    return list(
        session.scalars(
            select(Watchlist)
            .where(Watchlist.agency_code == principal.agency_code)
            .order_by(Watchlist.created_at, Watchlist.id)
        )
    )


def count(session: Session, watchlist: Watchlist) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(WatchItem).where(WatchItem.watchlist_id == watchlist.id)
        )
        or 0
    )


def change_identifiers(
    session: Session, principal: Principal, watchlist_id: uuid.UUID, body: IdentifiersIn
) -> dict[str, int]:
    watchlist = find(session, principal, watchlist_id)
    add = normalized(body.add, "add", session)
    remove = normalized(body.remove, "remove")
    serialize_writers(session)
    removed = 0
    for start in range(0, len(remove), alerting.READ_CHUNK):
        chunk = remove[start : start + alerting.READ_CHUNK]
        result = session.execute(
            delete(WatchItem).where(
                WatchItem.watchlist_id == watchlist.id, column_in(session, WatchItem.identifier, chunk)
            )
        )
        removed += result.rowcount  # type: ignore[attr-defined]
    added = _add(session, watchlist, add)
    total = count(session, watchlist)
    if total > MAX_IDENTIFIERS:
        raise ValidationFailed.one(
            "add", f"a watchlist holds at most {MAX_IDENTIFIERS:,} identifiers; this would make {total:,}"
        )
    audit.append(
        session,
        principal.actor,
        [
            audit.Event(
                "watchlist.identifiers_changed",
                "watchlist",
                str(watchlist.id),
                {"added": added, "removed": removed, "identifiers": total},
            )
        ],
    )
    return {"added": added, "removed": removed, "identifier_count": total}


def remove(session: Session, principal: Principal, watchlist_id: uuid.UUID) -> None:
    """The watchlist, its identifiers, alerts and deliveries (pending ones are no longer sent)."""
    watchlist = find(session, principal, watchlist_id)
    serialize_writers(session)
    alerting.hold_makers_lock(session, wait=True)  # no alert made for it meanwhile
    _keep_alerts_for_oversight(session, watchlist)
    for model in (Delivery, Alert, WatchItem):
        session.execute(delete(model).where(model.watchlist_id == watchlist.id))
    session.delete(watchlist)
    session.flush()
    audit.append(
        session,
        principal.actor,
        [audit.Event("watchlist.deleted", "watchlist", str(watchlist.id), {"name": watchlist.name})],
    )


def _keep_alerts_for_oversight(session: Session, watchlist: Watchlist) -> None:
    """A watchlist's alerts were decisions about its identifiers made for its agency (and pushed to
    its webhook): deleting the watchlist must not erase them from the access log."""
    alerts = session.execute(
        select(Alert.identifier, Alert.record_id, Alert.at).where(Alert.watchlist_id == watchlist.id)
    ).all()
    subjects = repository.subject_ids_of(session, list({alert.identifier for alert in alerts}))
    decisions = [
        {
            "at": alert.at,
            "action": watchlist.action,
            "reference": str(watchlist.id),
            "identifier": alert.identifier,
            "subject_id": subjects.get(alert.identifier),
            "record_id": alert.record_id,
        }
        for alert in alerts
    ]
    access.keep_decisions(session, watchlist, "watchlist_alert", decisions)


def out(session: Session, watchlist: Watchlist, identifiers: bool = False) -> dict[str, Any]:
    counts = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.watchlist_id == watchlist.id)
            .group_by(Delivery.status)
        ).all()
    )
    body: dict[str, Any] = {
        "id": str(watchlist.id),
        "name": watchlist.name,
        "action": watchlist.action,
        "agency": watchlist.agency_code,
        "identifier_count": count(session, watchlist),
        "callback_url": watchlist.callback_url,
        "created_at": watchlist.created_at,
        "deliveries": {status: counts.get(status, 0) for status in ("pending", "delivered", "failed")},
    }
    if identifiers:
        body["identifiers"] = list(
            session.scalars(
                select(WatchItem.identifier)
                .where(WatchItem.watchlist_id == watchlist.id)
                .order_by(WatchItem.identifier)
                .limit(1000)
            )
        )
    return body


def watched(
    session: Session, principal: Principal, watchlist_id: uuid.UUID, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The watched identifiers in order, `after` the last one seen, each with its decision last
    known; the cursor of the next page (None on the last)."""
    watchlist = find(session, principal, watchlist_id)
    query = select(WatchItem.identifier, WatchItem.decision, WatchItem.updated_at).where(
        WatchItem.watchlist_id == watchlist.id
    )
    if after is not None:
        query = query.where(WatchItem.identifier > after)
    rows = session.execute(query.order_by(WatchItem.identifier).limit(limit + 1)).all()
    items: list[dict[str, Any]] = [{"identifier": i, "decision": d, "since": at} for i, d, at in rows[:limit]]
    return items, rows[limit - 1].identifier if len(rows) > limit else None


def _alert_fields(alert: Any, check: Any) -> dict[str, Any]:
    """An alert (the ORM row, or a row of ALERT_COLUMNS) as the feed shows it, `check` its answer."""
    return {
        "id": str(alert.id),
        "cursor": str(alert.seq),
        "watchlist_id": str(alert.watchlist_id),
        "identifier": alert.identifier,
        "event": alert.event,
        "decision_before": alert.decision_before,
        "decision_after": alert.decision_after,
        "record_id": str(alert.record_id) if alert.record_id else None,
        "at": alert.at,
        "check": check,
        "receipt": alert.receipt,
    }


def alert_out(alert: Alert) -> dict[str, Any]:
    return _alert_fields(alert, orjson.loads(alert.answer))


ALERT_COLUMNS = (
    Alert.id,
    Alert.seq,
    Alert.watchlist_id,
    Alert.identifier,
    Alert.event,
    Alert.decision_before,
    Alert.decision_after,
    Alert.record_id,
    Alert.at,
    Alert.answer,
    Alert.receipt,
)


def alert_json(row: Any) -> bytes:
    """An alert read with ALERT_COLUMNS as JSON, exactly as the feed (AlertOut) shows it: the stored
    answer embedded as it is, not parsed and written again (the webhook sender's path)."""
    return orjson.dumps(_alert_fields(row, orjson.Fragment(row.answer)), option=orjson.OPT_UTC_Z)


def alerts_for_oversight(
    session: Session,
    *,
    identifier: str | None,
    client_id: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Alerts in time order after a (time, id) position, as the access log shows them: each is a
    decision about its identifier, made for the agency owning the watchlist (and pushed to its
    webhook), so oversight sees it beside the checks and reads of the subject."""
    query = select(Alert, Watchlist).join(Watchlist, Watchlist.id == Alert.watchlist_id)
    if identifier is not None:
        query = query.where(Alert.identifier == identifier)
    if client_id is not None:
        query = query.where(Watchlist.client_id == client_id)
    if after is not None:
        query = query.where(after_position(Alert.at, Alert.id, after))
    rows = session.execute(query.order_by(Alert.at, Alert.id).limit(limit))
    return [
        {
            "id": alert.id,
            "at": alert.at,
            "kind": "alert",
            "what": "watchlist_alert",
            "client_id": watchlist.client_id,
            "agency": watchlist.agency_code,
            "action": watchlist.action,
            "reference": str(watchlist.id),
            "subject_id": None,
            "identifier": alert.identifier,
            "record_id": alert.record_id,
            "decision": alert.decision_after,
        }
        for alert, watchlist in rows
    ]


def alerts_after(
    session: Session, principal: Principal, watchlist_id: uuid.UUID, after: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    watchlist = find(session, principal, watchlist_id)
    rows = session.scalars(
        select(Alert)
        .where(Alert.watchlist_id == watchlist.id, Alert.seq > after)
        .order_by(Alert.seq)
        .limit(limit)
    ).all()
    return [alert_out(row) for row in rows], str(rows[-1].seq) if rows else str(after)


def deliveries(
    session: Session,
    principal: Principal,
    watchlist_id: uuid.UUID,
    status: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Deliveries in the order they were made (their ids are time-ordered), `after` the last one
    seen."""
    watchlist = find(session, principal, watchlist_id)
    query = select(Delivery).where(Delivery.watchlist_id == watchlist.id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if after is not None:
        query = query.where(Delivery.id > after)
    rows = session.scalars(query.order_by(Delivery.id).limit(limit)).all()
    items = [
        {
            "id": str(row.id),
            "alert_id": str(row.alert_id),
            "status": row.status,
            "attempts": row.attempts,
            "created_at": row.created_at,
            "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
            "delivered_at": row.delivered_at,
            "last_status": row.last_status,
            "last_error": row.last_error,
        }
        for row in rows
    ]
    return items, str(rows[-1].id) if len(rows) == limit else None


# --- change-feed subscriptions ---------------------------------------------------------------------


def subscribe(session: Session, principal: Principal, body: SubscriptionIn) -> Subscription:
    """Another platform's subscription to the change feed, as its agency may read it, from the
    cursor given (by default: from now on)."""
    callbacks.validated(body.callback_url)
    now = utcnow()
    head = audit.head(session)[0]
    cursor = int(body.after) if body.after is not None else head
    if cursor > head:  # it would wait, silently, for changes the feed may never reach
        raise ValidationFailed.one("after", f"the change feed has reached {head}; start at or before it")
    subscription = Subscription(
        id=uuid.uuid4(),
        agency_code=principal.agency_code,
        client_id=principal.client_id,
        scopes=" ".join(sorted(principal.scopes)),
        callback_url=body.callback_url,
        secret=body.secret,
        cursor=cursor,
        status="active",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(subscription)
    session.flush()
    audit.append(
        session,
        principal.actor,
        [
            audit.Event(
                "subscription.created",
                "subscription",
                str(subscription.id),
                {"callback_url": subscription.callback_url, "after": cursor},
            )
        ],
    )
    return subscription


def find_subscription(session: Session, principal: Principal, subscription_id: uuid.UUID) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.agency_code != principal.agency_code:
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


def unsubscribe(session: Session, principal: Principal, subscription_id: uuid.UUID) -> Subscription:
    subscription = find_subscription(session, principal, subscription_id)
    session.delete(subscription)
    session.flush()
    audit.append(
        session,
        principal.actor,
        [audit.Event("subscription.deleted", "subscription", str(subscription.id), {})],
    )
    return subscription


def subscription_out(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": str(subscription.id),
        "callback_url": subscription.callback_url,
        "status": subscription.status,
        "cursor": str(subscription.cursor),
        "attempts": subscription.attempts,
        "next_attempt_at": subscription.next_attempt_at if subscription.status == "active" else None,
        "failing_since": subscription.failing_since,
        "last_status": subscription.last_status,
        "last_error": subscription.last_error,
        "created_at": subscription.created_at,
    }
