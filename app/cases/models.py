"""Repair (信用修复) and objection (异议) cases an entity opens against a record."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime
from app.kit.clock import china_today


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_agency_status", "agency_code", "status"),
        Index("ix_cases_record_kind_status", "record_id", "kind", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # repair | objection | appeal
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"))
    # The designating agency decides ("谁认定谁修复"); copied here so its queue is one index scan.
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    # SHA-256 of the query code: the code itself is shown once, to the applicant. None for an
    # appeal, which is followed by the code of the repair it appeals.
    query_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # An appeal: the rejected repair it appeals (one appeal per repair, held by the unique index).
    appeal_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # objections: why
    statement: Mapped[str] = mapped_column(Text)
    commitment: Mapped[bool] = mapped_column(default=False)  # repairs: 信用承诺 given
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The answer is due by this day (10 working days); None when the calendar could not tell.
    due_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    calendar_note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    # The agency that decided: the designating agency, or for an appeal the credit office.
    decided_by_agency: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), nullable=True)
    # A rejected repair: the last day it may be appealed (10 working days after the rejection).
    appeal_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The written decision as it was issued (app.cases.decision_document): what the subject
    # downloads, unchanged by anything that happens to the record afterwards.
    decision_document: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)

    @property
    def applicant(self) -> dict[str, str | None]:
        # Who asked, for both kinds: the agency answers the applicant of an objection too (an objector
        # may leave the name out; the contact is always given).
        return {"name": self.applicant_name or None, "contact": self.contact}

    @property
    def overdue(self) -> bool:
        return self.status == "submitted" and self.due_by is not None and self.due_by < china_today()


class CaseFile(Base):
    """An evidence file attached to a case (type and size checked on upload)."""

    __tablename__ = "case_files"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
