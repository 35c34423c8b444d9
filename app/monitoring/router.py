import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from app.audit import access
from app.auth.deps import ChecksWrite, FeedRead
from app.auth.service import Principal
from app.db import DbSession
from app.errors import errors_declared
from app.monitoring import service
from app.monitoring.schemas import (
    AlertsOut,
    DeliveriesOut,
    IdentifiersIn,
    IdentifiersOut,
    SubscriptionIn,
    SubscriptionOut,
    WatchedPage,
    WatchlistIn,
    WatchlistOut,
)
from app.records import repository

router = APIRouter(tags=["monitoring"])

Cursor = Annotated[str, Query(pattern=r"^\d{1,18}$", description="The cursor of the last alert you have")]


@router.post("/v1/watchlists", response_model=WatchlistOut, status_code=201, responses=errors_declared(422))
def create_watchlist(body: WatchlistIn, principal: ChecksWrite, session: DbSession) -> Any:
    """Watch up to 100,000 identifiers for an action: from now on an alert is made whenever what a
    check would answer about one of them changes (a record listed, corrected, exited, revoked or
    expired; an objection raised or decided; a rule added, replaced or retired), readable at
    `/alerts` and, with a callback URL, pushed as a signed webhook. The decisions of today are the
    baseline: they make no alert."""
    watchlist = service.create(session, principal, body)
    return service.out(session, watchlist)


@router.get("/v1/watchlists", response_model=list[WatchlistOut])
def list_watchlists(principal: ChecksWrite, session: DbSession) -> Any:
    """Your agency's watchlists, oldest first (an agency keeps a handful: no paging)."""
    return [service.out(session, watchlist) for watchlist in service.owned(session, principal)]


@router.get("/v1/watchlists/{watchlist_id}", response_model=WatchlistOut, responses=errors_declared(404))
def get_watchlist(watchlist_id: uuid.UUID, principal: ChecksWrite, session: DbSession) -> Any:
    """The watchlist (the first 1,000 identifiers, in order; all of them at `/identifiers`) and its
    deliveries by status."""
    return service.out(session, service.find(session, principal, watchlist_id), identifiers=True)


@router.delete("/v1/watchlists/{watchlist_id}", response_model=WatchlistOut, responses=errors_declared(404))
def delete_watchlist(watchlist_id: uuid.UUID, principal: ChecksWrite, session: DbSession) -> Any:
    """Stop watching: the watchlist, its alerts and its deliveries are deleted (pending ones are no
    longer sent). Answers the watchlist as it was."""
    body = service.out(session, service.find(session, principal, watchlist_id))
    service.remove(session, principal, watchlist_id)
    return body


@router.get(
    "/v1/watchlists/{watchlist_id}/identifiers",
    response_model=WatchedPage,
    responses=errors_declared(404, 422),
)
def list_identifiers(
    watchlist_id: uuid.UUID,
    principal: ChecksWrite,
    session: DbSession,
    after: Annotated[
        str | None, Query(max_length=64, description="The last identifier you have (the `next` of a page)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> Any:
    """Every watched identifier in order, a page at a time, with the decision last known for each
    (what the next alert's `decision_before` will be)."""
    items, last = service.watched(session, principal, watchlist_id, after, limit)
    # Each one's decision is a government-view answer, as the alerts' are: who read them is logged,
    # one entry per identifier (oversight asks by subject).
    _log_shown(session, principal, "watchlist_items", watchlist_id, [item["identifier"] for item in items])
    return {"items": items, "next": last}


@router.post(
    "/v1/watchlists/{watchlist_id}/identifiers",
    response_model=IdentifiersOut,
    responses=errors_declared(404, 422),
)
def change_identifiers(
    watchlist_id: uuid.UUID, body: IdentifiersIn, principal: ChecksWrite, session: DbSession
) -> Any:
    """Add and remove identifiers (removals first); an identifier already watched is not added
    twice. Over 100,000 in all → 422; an invalid one → 422 naming its index."""
    return service.change_identifiers(session, principal, watchlist_id, body)


@router.get("/v1/watchlists/{watchlist_id}/alerts", response_model=AlertsOut, responses=errors_declared(404))
def list_alerts(
    watchlist_id: uuid.UUID,
    principal: ChecksWrite,
    session: DbSession,
    after: Cursor = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The alerts in the order they were made; poll with `after=<next>`."""
    items, last = service.alerts_after(session, principal, watchlist_id, int(after), limit)
    # They carry government-view answers, as checks do: who read them is logged (oversight).
    _log_shown(session, principal, "watchlist_alerts", watchlist_id, [item["identifier"] for item in items])
    return {"items": items, "next": last}


@router.get(
    "/v1/watchlists/{watchlist_id}/deliveries",
    response_model=DeliveriesOut,
    responses=errors_declared(404),
)
def list_deliveries(
    watchlist_id: uuid.UUID,
    principal: ChecksWrite,
    session: DbSession,
    status: Literal["pending", "delivered", "failed"] | None = None,
    after: Annotated[uuid.UUID | None, Query(description="The id of the last delivery you have")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The webhook deliveries of the alerts, oldest first: pending (with the next attempt's time),
    delivered, or failed after 24 hours of retries (`registry deliveries retry` sends them again)."""
    items, last = service.deliveries(session, principal, watchlist_id, status, after, limit)
    return {"items": items, "next": last}


@router.post(
    "/v1/subscriptions", response_model=SubscriptionOut, status_code=201, responses=errors_declared(422)
)
def subscribe(body: SubscriptionIn, principal: FeedRead, session: DbSession) -> Any:
    """Receive the change feed (the items of GET /v1/changes, as your agency may see them) pushed to
    `callback_url`, one change per POST, signed like the alerts' webhooks (X-Registry-Signature,
    X-Registry-Delivery), in the feed's order: the next change is sent only once the previous one is
    acknowledged (any 2xx). From now on, or after the cursor given in `after`."""
    return service.subscription_out(service.subscribe(session, principal, body))


@router.get(
    "/v1/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=errors_declared(404)
)
def get_subscription(subscription_id: uuid.UUID, principal: FeedRead, session: DbSession) -> Any:
    """Where the subscription stands: the last change acknowledged, and the failing one if any."""
    return service.subscription_out(service.find_subscription(session, principal, subscription_id))


@router.delete(
    "/v1/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=errors_declared(404)
)
def delete_subscription(subscription_id: uuid.UUID, principal: FeedRead, session: DbSession) -> Any:
    """Stop pushing; answers the subscription as it was."""
    return service.subscription_out(service.unsubscribe(session, principal, subscription_id))


def _log_shown(
    session: Session, principal: Principal, what: str, watchlist_id: uuid.UUID, shown: list[str]
) -> None:
    identifiers = list(dict.fromkeys(shown))
    subjects = repository.subject_ids_of(session, identifiers)
    pairs = [(identifier, subjects.get(identifier)) for identifier in identifiers]
    access.log_identifiers(session, principal, what, pairs, str(watchlist_id))
