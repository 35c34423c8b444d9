"""The public answers, for the OpenAPI document (the routes serialize rows straight to JSON)."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.records.schemas import AgencyRef, ListingBasis


class SearchItem(BaseModel):
    name: str
    kind: str
    identifier: str  # a resident identity number masked: area code and birth year only
    black_count: int
    red_count: int
    ref: uuid.UUID  # opens the entity: /v1/public/subjects/{ref}
    matched_name: str | None = None  # a former name that matched, when it differs from the current one
    score: float


class SearchOut(BaseModel):
    items: list[SearchItem]
    total: int
    limit: int
    # With no items only: what an empty answer means and what it does not (not a clean bill).
    note: str | None = None


class PublicSubjectRef(BaseModel):
    name: str
    kind: str
    identifier: str
    ref: uuid.UUID


class PublicPartyOut(BaseModel):
    """A person or organisation behind the record's subject; a person only in a domain whose rule
    publishes natural persons, the identity number masked."""

    role: str
    role_zh: str
    name: str
    kind: str
    identifier: str


class PublicRecordOut(BaseModel):
    id: uuid.UUID
    domain: str
    domain_name_zh: str
    list_type: str
    severity: str
    conduct: str
    decision_no: str
    decision_date: date
    legal_basis: str
    publicity_start: date
    publicity_end: date | None  # none: a court listing until the debt is performed
    under_objection: bool
    late_disclosure: bool | None
    designating_agency: AgencyRef
    status: str
    listing_basis: ListingBasis | None = Field(
        default=None, description="Court listings (court_judgments): the ground of 法释〔2017〕7号 第一条"
    )
    performance: str | None = Field(
        default=None,
        description="Court listings: the obligations the judgment sets and how far they are performed "
        "(法释〔2017〕7号 第六条（三）)",
    )
    related: list[PublicPartyOut] = []


class PublicSubjectOut(BaseModel):
    subject: PublicSubjectRef
    records: list[PublicRecordOut]
    late_disclosures: int
    black_count: int
    red_count: int
    as_of: date


class ReportSubject(BaseModel):
    name: str
    kind: str
    identifier: str


class ReportDomain(BaseModel):
    domain: str
    name_zh: str
    records: list[PublicRecordOut]


class ReportVerificationHint(BaseModel):
    url: str  # the human verification page (printed in the PDF and in its QR code)
    api: str  # the same verification for machines
    jwks: str
    digest: str


class ReportIssuer(BaseModel):
    name: str
    contact: str


class CreditReport(BaseModel):
    """The JSON credit report (信用报告): `sha256` covers everything but itself and `signature`."""

    report_id: str
    issued_at: datetime
    as_of: date
    issuer: ReportIssuer
    scope: str  # what the report covers, as printed
    subject: ReportSubject
    black_count: int
    red_count: int
    late_disclosures: int
    domains: list[ReportDomain]
    verification: ReportVerificationHint
    sha256: str
    signature: str


class ReportVerification(BaseModel):
    """One verdict: genuine (issued here, its signature valid and, when a file or digest was given,
    unchanged) or not, and why."""

    report_id: str
    verdict: Literal["genuine", "not_genuine"]
    # Why not: the file differs from what was issued, the stored signature no longer verifies, it was
    # signed by a key the registry does not hold, or the JSON sent names a key twice.
    reason: Literal["content_changed", "signature_invalid", "key_unknown", "duplicate_keys"] | None
    verdict_zh: str  # the verdict in a sentence of Chinese, as the verification page states it
    genuine: bool  # verdict == "genuine"
    valid: bool  # the same as genuine (kept for clients of the first release)
    content_matches: bool | None = None  # whether the file or digest given is the one issued
    format: str
    issued_at: datetime
    sha256: str
    signature: str
    subject: PublicSubjectRef | dict[str, str]
    black_count: int
    red_count: int
