"""Notices before listing (国办发〔2020〕49号 (八)): a pending listing the subject is told of, with the
reasons, basis and rights, and a time to state a defence (陈述申辩) before the agency decides."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_agency_status", "agency_code", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    domain_code: Mapped[str] = mapped_column(ForeignKey("domains.code"))
    external_id: Mapped[str] = mapped_column(String(128))
    # The listing announced: the record body (app.records.schemas.RecordIn) the finalize pushes.
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # SHA-256 of the query code: the code itself is shown once, to the agency that serves it.
    query_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # notified | finalized | withdrawn
    respond_by: Mapped[date] = mapped_column(Date)
    calendar_note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))
    # The subject's statement (陈述申辩), once.
    statement: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # How the agency weighed the statement before it listed.
    considered: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    withdraw_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    record_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("records.id"), nullable=True)
