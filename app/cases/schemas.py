"""Repair applications, objections and decisions, as the public and the agencies send them."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, Strict, StringConstraints

from app.kit.text import text
from app.records.schemas import RecordPatch

EvidenceKind = Literal["obligation_met", "fine_paid", "training_completed", "conduct_corrected", "other"]
ObjectionReason = Literal["inaccurate", "not_mine", "should_not_be_published", "past_its_period", "other"]
Outcome = Literal["approved", "rejected", "corrected", "revoked", "dismissed", "upheld"]
CaseKind = Literal["repair", "objection", "appeal"]
CaseStatus = Literal["submitted", "approved", "rejected", "corrected", "revoked", "dismissed", "upheld"]

# Which outcomes close which kind of case. An appeal of a rejected repair is upheld (the repair is
# granted) or dismissed (the rejection stands).
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    "repair": ("approved", "rejected"),
    "objection": ("corrected", "revoked", "dismissed"),
    "appeal": ("upheld", "dismissed"),
}


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: text(200)  # type: ignore[valid-type]
    contact: text(200)  # type: ignore[valid-type]


class EvidenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind
    description: text(2000)  # type: ignore[valid-type]


class RepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: uuid.UUID
    applicant: Applicant
    statement: text(4000)  # type: ignore[valid-type]
    # Strict: the commitment is given as the JSON value true, not a 1 or a "true" that a form or a
    # script happened to send.
    commitment: Annotated[bool, Strict()] = Field(
        description="The public credit commitment (信用承诺); must be true"
    )
    evidence: list[EvidenceItem] = Field(min_length=1, max_length=20)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: uuid.UUID
    reason: ObjectionReason
    statement: text(4000)  # type: ignore[valid-type]
    contact: text(200)  # type: ignore[valid-type]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: text(4000)  # type: ignore[valid-type]
    contact: text(200)  # type: ignore[valid-type]


class RepairCreated(BaseModel):
    id: uuid.UUID
    query_code: str
    status: CaseStatus
    decide_by: date | None
    calendar_note: str | None = None


class ObjectionCreated(BaseModel):
    id: uuid.UUID
    query_code: str
    status: CaseStatus
    respond_by: date | None
    calendar_note: str | None = None


class PublicAppeal(BaseModel):
    """The appeal of a rejected repair, as its repair's query code shows it."""

    status: CaseStatus
    submitted_at: datetime
    due_by: date | None
    decided_at: datetime | None
    outcome: str | None
    decision_reason: str | None


class AppealCreated(PublicAppeal):
    id: uuid.UUID


class PublicCaseStatus(BaseModel):
    """What a query code reveals: the case's own progress, nothing about the record or others."""

    kind: CaseKind
    status: CaseStatus
    submitted_at: datetime
    due_by: date | None
    decided_at: datetime | None
    outcome: str | None
    decision_reason: str | None
    files: int
    decision_available: bool = Field(
        description="The written decision can be downloaded (decision.json, .pdf)"
    )
    appeal_by: date | None = Field(
        description="A rejected repair: the last day it may be appealed to the credit office (null otherwise)"
    )
    appeal: PublicAppeal | None = Field(description="A rejected repair's appeal, once made")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    reason: text(2000)  # type: ignore[valid-type]
    correction: RecordPatch | None = Field(
        default=None, description="With outcome 'corrected': the fields of the record to correct"
    )


class CaseFileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class ApplicantOut(BaseModel):
    name: str | None = Field(description="Null when an objector gave no name (the form leaves it optional)")
    contact: str


class CaseOut(BaseModel):
    """A case as read from its row (`Case`); its files are read apart and given with `files`
    (always in the answer: the default is only for reading the row)."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)

    id: uuid.UUID
    kind: CaseKind
    record_id: uuid.UUID
    agency: str = Field(validation_alias=AliasChoices("agency_code", "agency"))
    status: CaseStatus
    applicant: ApplicantOut
    contact: str
    reason: str | None
    statement: str
    commitment: bool
    evidence: list[EvidenceItem]
    files: list[CaseFileOut] = []
    submitted_at: datetime
    due_by: date | None
    overdue: bool
    decided_at: datetime | None
    outcome: str | None
    decision_reason: str | None
    decided_by: str | None
    decided_by_agency: str | None
    appeal_of: uuid.UUID | None = Field(
        validation_alias=AliasChoices("appeal_of_id", "appeal_of"),
        description="An appeal: the rejected repair it appeals",
    )
    appeal_by: date | None = Field(description="A rejected repair: the last day it may be appealed")


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int


# --- the written decision (app.cases.decision_document) ---------------------------------------------


class DocumentCase(BaseModel):
    id: uuid.UUID
    kind: CaseKind
    submitted_on: date
    applicant: str | None
    appeal_of: uuid.UUID | None


class DocumentSubject(BaseModel):
    name: str
    kind: str
    identifier: str | None = Field(description="Organisations' codes only: a person's number is never shown")


class DocumentAgency(BaseModel):
    code: str
    name_zh: str | None


class DocumentRecord(BaseModel):
    """The record the case was on; of a record the public did not see when the case was decided
    (shared, restricted, a minor's, exited), its id alone and `withheld: true`."""

    id: uuid.UUID
    withheld: bool = False
    domain: str | None = None
    domain_name_zh: str | None = None
    list_type: str | None = None
    severity: str | None = None
    subject: DocumentSubject | None = None
    decision_no: str | None = None
    decision_date: date | None = None
    publicity_start: date | None = None
    publicity_end: date | None = None
    designating_agency: DocumentAgency | None = None


class DocumentAppeal(BaseModel):
    to: Literal["credit_office"]
    by: date | None = Field(description="The last day of the appeal (10 working days after the decision)")
    once: bool


class DocumentNext(BaseModel):
    record_status: str | None = Field(default=None, description="None for a record withheld")
    taken_down_on: date | None = None
    sync_by: date | None = Field(default=None, description="Other platforms take the record down by this day")
    appeal: DocumentAppeal | None = None
    text_zh: str


class DocumentVerification(BaseModel):
    digest: Literal["sha256"]
    signature: Literal["ES256"]
    jwks: str


class DecisionDocument(BaseModel):
    """The written decision (决定书). `sha256` covers the canonical JSON (sorted keys, no whitespace)
    of everything but `sha256` and `signature`; `signature` is an ES256 compact JWS over
    {document_id, case_id, kind, outcome, format, sha256}, verified with /.well-known/jwks.json."""

    document: Literal["repair_decision", "objection_decision", "appeal_decision"]
    title_zh: str
    document_id: str
    case: DocumentCase
    record: DocumentRecord
    outcome: Outcome
    outcome_zh: str
    reasons: str | None
    deciding_agency: DocumentAgency
    decided_at: datetime
    decision_date: date
    next: DocumentNext
    basis: list[str]
    verification: DocumentVerification
    sha256: str
    signature: str
