"""Checks as approvers ask them and as the registry answers; feedback on what the approver did."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from app.kit.dates import IsoDate
from app.kit.text import printable
from app.records.schemas import IdentifierType
from app.rules.schemas import Action

MAX_BATCH = 10_000
Decision = Literal["prohibit", "restrict", "strict_review", "incentive", "clear"]
Outcome = Literal["denied", "granted", "granted_with_conditions", "withdrawn"]


class CheckSubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(printable)
    ] = Field(
        description="A unified social credit code (GB 32100-2015) or resident identity number "
        "(GB 11643-1999), validated in full: one that cannot exist is refused, never answered"
    )
    identifier_type: IdentifierType | None = Field(
        default=None,
        description='Needed only for identifiers of neither standard ("other"); by default the '
        "identifier must be one of the two",
    )


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: CheckSubjectIn
    action: Action = Field(description="What the approver is about to do")
    reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(printable)]
        | None
    ) = Field(default=None, description="The approver's own case or application number")
    as_of: IsoDate | None = Field(
        default=None, description="Answer as the registry stood at the end of this day"
    )


class CheckBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CheckIn] = Field(min_length=1, max_length=MAX_BATCH)


class RuleRef(BaseModel):
    id: uuid.UUID
    version: int


class AppliedMeasure(BaseModel):
    code: str
    name_zh: str
    kind: Literal["punishment", "incentive"]
    effect: str
    legal_basis: str
    record_ids: list[uuid.UUID]
    via_record_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="Of record_ids, the organisations' records that reach the checked person as a "
        "related party (legal representative, principal...)",
    )
    via_record_id: uuid.UUID | None = Field(
        default=None,
        description="API.md, second release: the (first) organisation's record through which the measure "
        "reaches the checked person; null when it reaches the subject itself. All of them: via_record_ids",
    )
    rules: list[RuleRef]


class AgencyRef(BaseModel):
    code: str
    name_zh: str


class CheckedRecord(BaseModel):
    """A record in force. Another agency's restricted record shows its domain, list and measures
    only: the fields of its document are null (国办发〔2020〕49号, a limited circle)."""

    id: uuid.UUID | None
    domain: str
    list_type: str
    severity: str | None
    status: str
    visibility: str
    designating_agency: AgencyRef | None
    decision_no: str | None
    decision_date: date | None
    publicity_end: date | None
    under_objection: bool | None
    measures: list[str] = Field(description="The measures this record triggers for the action")
    suspended: bool = Field(
        default=False, description="A red record while a black record of the subject is in force"
    )
    via: "Via | None" = Field(
        default=None,
        description="An organisation's record naming the checked person behind it: the role, and the "
        "organisation (null when the record is another agency's restricted one)",
    )


class ViaOrganisation(BaseModel):
    identifier: str
    name: str


class Via(BaseModel):
    role: str
    organisation: ViaOrganisation | None


class CheckedSubject(BaseModel):
    id: uuid.UUID
    kind: str
    name: str | None = Field(description="Null when only another agency's restricted records name it")
    identifier_type: str
    identifier: str


class CheckOut(BaseModel):
    id: uuid.UUID
    identifier: str
    found: bool
    decision: Decision
    action: str
    reference: str | None
    as_of: date | None
    subject: CheckedSubject | None
    measures: list[AppliedMeasure]
    incentives: list[AppliedMeasure]
    incentives_withheld: list[str] = Field(
        description="Incentives that would apply, withheld by a punishment"
    )
    records: list[CheckedRecord]
    under_objection: bool = Field(description="A record behind the decision is disputed (it still applies)")
    checked_at: datetime
    receipt: str = Field(
        description="Compact JWS (ES256) over the decision; verify with /.well-known/jwks.json"
    )


class CheckItemRefused(BaseModel):
    """A batch item not answered: its identifier fails its standard."""

    index: int
    status: Literal["error"]
    error: str
    detail: str


class CheckBatchOut(BaseModel):
    results: list[CheckOut | CheckItemRefused]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(printable)]
        | None
    ) = None


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    check_id: uuid.UUID
    outcome: Outcome
    note: str | None
    agency: str = Field(validation_alias=AliasChoices("agency_code", "agency"))
    reported_at: datetime


class StoredCheckOut(CheckOut):
    agency: str
    client_id: str
    feedback: FeedbackOut | None


class CheckSummary(BaseModel):
    id: uuid.UUID
    identifier: str
    found: bool
    action: str
    decision: Decision
    reference: str | None
    as_of: date | None
    agency: str
    checked_at: datetime
    feedback: Outcome | None


class CheckPage(BaseModel):
    items: list[CheckSummary]
    total: int
    limit: int
    offset: int
