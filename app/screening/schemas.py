"""Screening by name: what an approver sends and what it gets back."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.checks.schemas import CheckedRecord
from app.kit.dates import IsoDate
from app.kit.text import printable, text
from app.records.schemas import SubjectKind
from app.screening.match import THRESHOLD

MAX_CANDIDATES = 50

MatchedOn = Literal[
    "exact_name",
    "former_name",
    "spelling_variant",
    "suffix_variant",
    "missing_place",
    "pinyin",
    "homophone",
    "trade_name",
    "similar_name",
    "birth_year",
    "birth_year_differs",
]


class ScreenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: text(200) = Field(  # type: ignore[valid-type]
        description="The counterparty's name as the approver knows it: Chinese characters (either "
        "width, traditional or simplified), or pinyin; at least two characters without the legal form"
    )
    kind: SubjectKind | None = Field(
        default=None, description="A person (natural_person) or an organisation (any other kind)"
    )
    birth_date: IsoDate | None = Field(
        default=None,
        description="A person's birth date, when known; compared by its year only (what the masked "
        "identity number shows): matched birth_year or birth_year_differs",
    )
    limit: int = Field(default=10, ge=1, le=MAX_CANDIDATES)
    reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(printable)]
        | None
    ) = Field(default=None, description="The approver's own case or application number")


class ScreenedSubject(BaseModel):
    id: uuid.UUID
    kind: str
    name: str | None = Field(description="Null when only another agency's restricted records name it")
    identifier_type: str
    identifier: str = Field(description="A resident identity number masked (area code and birth year)")


class Candidate(BaseModel):
    subject: ScreenedSubject
    score: float = Field(ge=0, le=1, description=f"How alike the names are; {THRESHOLD} and above: a match")
    match: bool = Field(description="score >= threshold")
    matched: list[MatchedOn] = Field(description="What matched")
    matched_name: str | None = Field(
        description="The name that matched, when it is not the subject's current one (a former name); "
        "null also when only another agency's restricted record carries it"
    )
    records: list[CheckedRecord] = Field(
        description="Records in force reaching the candidate, as a check shows them (measures: every "
        "measure the record triggers, for any action)"
    )


class ScreenOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str | None
    birth_date: date | None
    reference: str | None
    threshold: float
    candidates: list[Candidate] = Field(description="Best first")
    screened_at: datetime
    receipt: str = Field(description="Compact JWS (ES256); verify with /.well-known/jwks.json")


class StoredScreeningOut(ScreenOut):
    agency: str
    client_id: str


class ScreeningSummary(BaseModel):
    id: uuid.UUID
    agency: str
    client_id: str
    name: str
    kind: str | None
    birth_date: date | None
    reference: str | None
    threshold: float
    matches: int = Field(description="Candidates at or above the threshold")
    top_score: float | None
    screened_at: datetime


class ScreeningPage(BaseModel):
    items: list[ScreeningSummary]
    total: int
    limit: int
    offset: int
