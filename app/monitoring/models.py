"""Watchlists and what they are told: the watched identifiers with the decision last known for each,
the outbox of changes that may alter their answers (written in the transaction of the change), the
alerts made from it after commit, the webhook deliveries of those alerts, and the change-feed
subscriptions of other platforms."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

# Autoincrementing on both databases (SQLite numbers only INTEGER PRIMARY KEY columns itself).
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Watchlist(Base):
    __tablename__ = "watchlists"
    __table_args__ = (Index("ix_watchlists_agency_code", "agency_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The owner: the approver's agency (any of its clients may read and change the watchlist).
    agency_code: Mapped[str] = mapped_column(String(96))
    client_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    callback_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # The key of the webhooks' HMAC-SHA256 signature; never shown again once given.
    secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WatchItem(Base):
    """A watched identifier and the decision a check would have answered at the last change."""

    __tablename__ = "watch_items"
    __table_args__ = (Index("ix_watch_items_identifier", "identifier"),)

    watchlist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("watchlists.id"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the answer's substance (decision, measures, records as the owner sees them): an
    # alert is made when it changes (app.monitoring.alerts).
    fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WatchChange(Base):
    """The outbox: a change (one append to the audit log) of records or rules while something is
    watched, written in the change's transaction. The delivery worker decides the watched answers
    it reaches again after commit, makes the alerts and marks it done (app.monitoring.alerts.make)."""

    __tablename__ = "watch_changes"
    __table_args__ = (Index("ix_watch_changes_done_at_seq", "done_at", "seq"),)

    # Numbered under the writers' lock (the audit log's): in commit order, the order alerts follow.
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    # The change's position: the seq of its last audit entry.
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    # JSON: [[action, entity_type, entity_id], ...], the change's record and rule events in order.
    events: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_watchlist_id_seq", "watchlist_id", "seq"),
        Index("ix_alerts_identifier_at", "identifier", "at"),  # the access log (app.oversight)
    )

    # The feed's order: numbered under the alert makers' lock (one at a time), so in commit order.
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    watchlist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("watchlists.id"))
    identifier: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(48))
    decision_before: Mapped[str] = mapped_column(String(16))
    decision_after: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The new decision exactly as a check answers it (JSON text, receipt excluded), and its receipt.
    answer: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(Text)


class Delivery(Base):
    """One alert to push to its watchlist's callback URL; its id is the X-Registry-Delivery header,
    the same on every attempt."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_watchlist_id_created_at", "watchlist_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    watchlist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("watchlists.id"))
    alert_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Subscription(Base):
    """Another platform's subscription to the whole change feed (GET /v1/changes), pushed in order:
    `cursor` is the last change delivered, the next one is sent only once it is acknowledged."""

    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(96))
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))
    callback_url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    cursor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # active | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Since when the change after `cursor` has not been acknowledged (None: nothing failing).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
