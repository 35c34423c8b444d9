"""Repair applications, objections and decisions, as the public and the agencies send them."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.text import text
from app.records.schemas import RecordPatch

EvidenceKind = Literal["obligation_met", "fine_paid", "training_completed", "conduct_corrected", "other"]
ObjectionReason = Literal["inaccurate", "not_mine", "should_not_be_published", "past_its_period", "other"]
Outcome = Literal["approved", "rejected", "corrected", "revoked", "dismissed"]
CaseKind = Literal["repair", "objection"]
CaseStatus = Literal["submitted", "approved", "rejected", "corrected", "revoked", "dismissed"]

# Which outcomes close which kind of case.
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    "repair": ("approved", "rejected"),
    "objection": ("corrected", "revoked", "dismissed"),
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
    commitment: bool = Field(description="The public credit commitment (信用承诺); must be true")
    evidence: list[EvidenceItem] = Field(min_length=1, max_length=20)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: uuid.UUID
    reason: ObjectionReason
    statement: text(4000)  # type: ignore[valid-type]
    contact: text(200)  # type: ignore[valid-type]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


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


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    reason: text(2000)  # type: ignore[valid-type]
    correction: RecordPatch | None = Field(
        default=None, description="With outcome 'corrected': the fields of the record to correct"
    )


class CaseFileOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class ApplicantOut(BaseModel):
    name: str | None = Field(description="Null when an objector gave no name (the form leaves it optional)")
    contact: str


class CaseOut(BaseModel):
    id: uuid.UUID
    kind: CaseKind
    record_id: uuid.UUID
    agency: str
    status: CaseStatus
    applicant: ApplicantOut
    contact: str
    reason: str | None
    statement: str
    commitment: bool
    evidence: list[EvidenceItem]
    files: list[CaseFileOut]
    submitted_at: datetime
    due_by: date | None
    overdue: bool
    decided_at: datetime | None
    outcome: str | None
    decision_reason: str | None
    decided_by: str | None


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
