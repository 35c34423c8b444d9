"""Screenings by name: logged like checks, as they were answered, receipt included (the approver's
evidence that it screened the counterparty, and the registry's record of what it said)."""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Screening(Base):
    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_agency_screened_at", "agency_code", "screened_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(96))
    client_id: Mapped[str] = mapped_column(String(64))
    # What was asked: the name as given, and the kind and birth date when given.
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    # The best candidate's subject and score (none: nobody alike), and how many reached the threshold.
    top_subject_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    top_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    matches: Mapped[int] = mapped_column(Integer)
    # SHA-256 over the candidates' records in force (id, version, dispute flag) and the rules in force.
    state_digest: Mapped[str] = mapped_column(String(64))
    # The answer exactly as given (JSON, without the receipt), and the receipt (a compact JWS).
    answer: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(Text)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime)
