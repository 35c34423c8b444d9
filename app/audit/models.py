"""The audit log: one row per change, each row's hash covering the row and its predecessor's hash."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    # Assigned by the appender under the chain lock, so gaps mean deleted rows.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(96))
    # Canonical JSON text (sorted keys), stored as written so the hash can be recomputed exactly.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AccessEntry(Base):
    """A government-view read: who looked at what, and for what (国办发〔2020〕49号: strict query
    permissions; the log is there to be read). Approvers' checks are logged as checks."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_subject_at", "subject_id", "at"),
        Index("ix_access_log_client_at", "client_id", "at"),
        Index("ix_access_log_identifier_at", "identifier", "at"),  # oversight asks by identifier too
        Index("ix_access_log_at", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_id: Mapped[str] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(String(96))
    # What was read: subject, record, records (an agency's list), history, changes (the feed).
    what: Mapped[str] = mapped_column(String(16))
    # Why, as the reader said: an approver action code, or "government_view" when none was given.
    action: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    identifier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
