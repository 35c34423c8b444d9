"""Subjects (the entities records are about) and records (one agency's listing of one subject)."""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Agency
from app.db import Base, UTCDateTime


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Normalized (upper-case, validated) identifier; unique across identifier types.
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    identifier_type: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    # The latest name any agency pushed; each record keeps the name its agency wrote (subject_name).
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Found to be the same as another subject and merged into it (app.records.merge): its records now
    # name that subject, and its identifier leads there (checks, pushes, the public lookup).
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), nullable=True)


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        # Idempotent pushes: one record per (agency, external_id).
        UniqueConstraint("agency_code", "external_id"),
        Index("ix_records_subject_status", "subject_id", "status"),
        Index("ix_records_status_publicity_end", "status", "publicity_end"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    external_id: Mapped[str] = mapped_column(String(128))
    domain_code: Mapped[str] = mapped_column(ForeignKey("domains.code"), index=True)
    list_type: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    # The name as this agency wrote it on this record.
    subject_name: Mapped[str] = mapped_column(String(200))
    conduct: Mapped[str] = mapped_column(Text)
    decision_no: Mapped[str] = mapped_column(String(128))
    decision_date: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text)
    publicity_start: Mapped[date] = mapped_column(Date)
    # None: no fixed end (a court listing on the first ground of 法释〔2017〕7号, until performance).
    publicity_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16))
    # Court listings: the ground of 法释〔2017〕7号 第一条 (app.records.schemas.ListingBasis).
    listing_basis: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Court listings: the obligations the judgment sets and how far they are performed (第六条（三）).
    performance: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    under_objection: Mapped[bool] = mapped_column(default=False)
    # None when the statutory calendar did not cover the days in question (see calendar_note).
    late_disclosure: Mapped[bool | None] = mapped_column(nullable=True)
    calendar_note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    exit_decision_no: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The day other platforms must have taken an exit down by (3 working days: 法释〔2017〕7号 第十条,
    # NDRC Order No. 36); None when the calendar could not tell.
    exit_sync_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    # 国办发〔2020〕49号 (八): how the subject was told before a serious black listing, either a registry
    # notice (app.notices; no foreign key: notices sit above records) or one the agency attested.
    notice_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    notice_document_no: Mapped[str | None] = mapped_column(String(128), nullable=True)
    notice_served_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # SHA-256 of the record's pushed content, to tell a retried push from a conflicting one.
    content_hash: Mapped[str] = mapped_column(String(64))

    subject: Mapped[Subject] = relationship(lazy="raise")
    agency: Mapped[Agency] = relationship(lazy="raise")
    parties: Mapped[list["RecordParty"]] = relationship(lazy="raise", order_by="RecordParty.role")


class RecordParty(Base):
    """A person (or organisation) behind a record's subject, in a role: legal representative,
    principal, responsible person, actual controller (app.records.schemas.PartyRole)."""

    __tablename__ = "record_parties"
    __table_args__ = (Index("ix_record_parties_subject_id", "subject_id"),)

    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The name as the agency wrote it on this record.
    name: Mapped[str] = mapped_column(String(200))

    subject: Mapped[Subject] = relationship(lazy="raise")


class PublicityOverride(Base):
    """An administrator's publicity periods for one domain and severity, replacing the defaults."""

    __tablename__ = "publicity_overrides"

    domain_code: Mapped[str] = mapped_column(ForeignKey("domains.code"), primary_key=True)
    severity: Mapped[str] = mapped_column(String(8), primary_key=True)
    shortest_months: Mapped[int] = mapped_column(Integer)
    default_months: Mapped[int] = mapped_column(Integer)
    longest_months: Mapped[int] = mapped_column(Integer)
    repair_after_months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectSearch(Base):
    """The public search index: one row per distinct name a subject has carried (app.kit.names keys).

    Filled in the same transaction that creates a subject or gives it a new name. Name search reads
    it through btree prefixes, pg_trgm GIN indexes on PostgreSQL and an FTS5 trigram table on SQLite
    (substrings of three characters or more, typos), and the `grams` word list (two-character names,
    homophones): a GIN index over its words on PostgreSQL, an FTS5 table on SQLite. The migrations
    create the FTS5 tables; see app.records.search_index.
    """

    __tablename__ = "subject_search"
    __table_args__ = (
        Index("ix_subject_search_core", "core", postgresql_ops={"core": "text_pattern_ops"}),
        Index("ix_subject_search_pinyin", "pinyin", postgresql_ops={"pinyin": "text_pattern_ops"}),
        Index("ix_subject_search_initials", "initials", postgresql_ops={"initials": "text_pattern_ops"}),
        Index(
            "ix_subject_search_core_trgm",
            "core",
            postgresql_using="gin",
            postgresql_ops={"core": "gin_trgm_ops"},
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_subject_search_pinyin_trgm",
            "pinyin",
            postgresql_using="gin",
            postgresql_ops={"pinyin": "gin_trgm_ops"},
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        Index("ix_subject_search_trade", "trade", postgresql_ops={"trade": "text_pattern_ops"}),
        Index(
            "ix_subject_search_trade_initials",
            "trade_initials",
            postgresql_ops={"trade_initials": "text_pattern_ops"},
        ),
        Index(
            "ix_subject_search_grams",
            func.string_to_array(text("grams"), literal_column("' '")),
            postgresql_using="gin",
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
    )

    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    # fold(name): full width folded, lower case, legal-form variants unified, punctuation removed.
    folded: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    core: Mapped[str] = mapped_column(String(200))  # folded without the legal form
    pinyin: Mapped[str] = mapped_column(String(1000))
    initials: Mapped[str] = mapped_column(String(200))
    # core without the administrative divisions it begins with, and that trade name's initials
    trade: Mapped[str] = mapped_column(String(200), server_default="")
    trade_initials: Mapped[str] = mapped_column(String(200), server_default="")
    # Space-separated: the core's Han character pairs and syllable pairs (app.kit.names.grams).
    grams: Mapped[str] = mapped_column(Text, server_default="")


class IssuedReference(Base):
    """A reference the registry issued to an organisation with no code (identifier_type "other" pushed
    without an identifier): the subject's identifier, stable and never reused (rows are never
    deleted), found again by jurisdiction and name (app.records.references)."""

    __tablename__ = "issued_references"
    __table_args__ = (UniqueConstraint("jurisdiction", "name_key"),)

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    # GB/T 2260 code of the administrative division, and the name as compared (app.kit.names: folded,
    # without its legal form and the places it begins with).
    jurisdiction: Mapped[str] = mapped_column(String(6))
    name_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))  # as first pushed
    agency_code: Mapped[str] = mapped_column(String(96))  # the agency whose push it was issued on
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectMerge(Base):
    """An administrator's merge of one subject into another, and what it moved, so that it can be
    undone exactly (app.records.merge)."""

    __tablename__ = "subject_merges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    from_subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    into_subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    actor: Mapped[str] = mapped_column(String(200))
    # JSON: the records moved; the party rows moved ([record id, role]) and those dropped because the
    # record already named the surviving subject in that role ([record id, role, name]); the index keys
    # the merge added to the surviving subject's names.
    moved: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
