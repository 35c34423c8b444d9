"""Approver checks (联合奖惩 queries) and the feedback approvers send on what they did.

A check is stored as it was answered, receipt included: it is the approver's evidence that it
consulted the registry, and the registry's record of what it said. The receipt is stored with its
payload detached (the signed claims are all in the row; app.checks.receipts rebuilds it on read).

Check rows are a log the registry writes from what it has just read: they name their agency and
subject without foreign keys (neither is ever deleted), which would be checked row by row on the
hot path of batch checks (migration e5b8f0c2d4a6).
"""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Check(Base):
    __tablename__ = "checks"
    __table_args__ = (
        Index("ix_checks_agency_checked_at", "agency_code", "checked_at"),
        Index("ix_checks_subject_id", "subject_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The approver: its agency and the API client that asked.
    agency_code: Mapped[str] = mapped_column(String(96))
    client_id: Mapped[str] = mapped_column(String(64))
    # The identifier as asked (normalized); subject_id only when the registry knew it.
    identifier: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    found: Mapped[bool]
    action: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    decision: Mapped[str] = mapped_column(String(16))
    # The domain of a record behind the decisive measure, for per-domain statistics.
    decisive_domain: Mapped[str | None] = mapped_column(String(64), nullable=True)
    under_objection: Mapped[bool]
    # SHA-256 over the records and rule versions the decision rests on (also in the receipt).
    state_digest: Mapped[str] = mapped_column(String(64))
    # The answer exactly as given (JSON text, without the receipt), and the receipt: a compact JWS
    # with its payload detached (`header..signature`); of a batch, `batch:<batch id>:<index>` (the
    # rest is its CheckBatch's; `batch:<root>:<index>` in rows stored before batches had ids); whole
    # in rows stored before the payload was detached.
    answer: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(Text)
    # The receipt's claims found nowhere else in the row (null in rows whose receipt is whole).
    rules_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    receipt_issuer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Which receipt payload the signature covers (app.checks.receipts.RECEIPT_FORMAT); null: 1.
    receipt_format: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckBatch(Base):
    """What a batch's receipts share: the signed root and the tree's leaves (app.checks.receipts).
    Kept once per batch so that each check row stays small: a row carrying its root JWS and proof
    (~1 KB) passed PostgreSQL's TOAST threshold and made writing a batch's rows 2-3 times slower."""

    __tablename__ = "check_batches"

    # The tree's root hash, unpadded base64url (as in the signed root's `root` claim).
    root: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The batch's id, chosen before it is signed: its rows' stored receipts name it (batches stored
    # before it was kept are named by their root: no id).
    key: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)
    signed_root: Mapped[str] = mapped_column(Text)
    # The leaf hashes in order, 32 bytes each: any receipt's proof is computed from them on read.
    leaves: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckFeedback(Base):
    """What the approver did after a check (惩戒反馈); one per check."""

    __tablename__ = "check_feedback"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checks.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    client_id: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
