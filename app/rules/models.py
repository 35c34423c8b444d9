"""Measures (惩戒/激励措施) and the sanction rules that tie them to domains, lists and severities.

A rule keeps every version: a change adds a version and ends the one before it, so a question "as of"
a past day is answered with the versions in force that day. Nothing here is ever deleted.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime


class Measure(Base):
    """One entry of the measures list (全国失信惩戒措施基础清单): nothing beyond the list may be imposed."""

    __tablename__ = "measures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(16))  # punishment | incentive
    # The approver actions the measure bears on (API.md action codes).
    actions: Mapped[list[str]] = mapped_column(JSONType)
    legal_basis: Mapped[str] = mapped_column(Text)
    implementing_agency: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rule(Base):
    """One version of a rule. `rule_id` is the id callers see; each change adds a row with version + 1."""

    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        Index("ix_rules_measure_list", "measure_code", "list_type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    rule_id: Mapped[uuid.UUID] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    # None: every domain.
    domain_code: Mapped[str | None] = mapped_column(ForeignKey("domains.code"), nullable=True)
    list_type: Mapped[str] = mapped_column(String(8))
    min_severity: Mapped[str] = mapped_column(String(8))
    measure_code: Mapped[str] = mapped_column(ForeignKey("measures.code"))
    effect: Mapped[str] = mapped_column(String(16))  # prohibit | restrict | strict_review | incentive
    # Whom the measure reaches: the record's subject, or the people behind it (related parties).
    applies_to: Mapped[str] = mapped_column(String(16), default="subject", server_default="subject")
    effective_from: Mapped[date] = mapped_column(Date)
    # Inclusive; None: open-ended. A version replaced before it took effect ends the day before it
    # began (never in force).
    effective_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    legal_basis: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))
    # Set when a newer version replaced this one, or when the rule was retired.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # replaced | retired
