"""Measures and rules as administrators write them and as the registry answers."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from app.kit.dates import IsoDate
from app.kit.text import name as name_text
from app.kit.text import one_line, text
from app.records.schemas import ListType, Severity

# What an approver is about to do (API.md, Catalog): the actions measures bear on.
Action = Literal[
    "market_access",
    "administrative_license",
    "telecom_service",
    "financial_service",
    "financing",
    "high_consumption",
    "preferential_policy",
    "honors",
    "public_procurement",
    "government_funding",
    "routine_inspection",
]
ACTIONS: tuple[str, ...] = get_args(Action)
MeasureKind = Literal["punishment", "incentive"]
Effect = Literal["prohibit", "restrict", "strict_review", "incentive"]
AppliesTo = Literal["subject", "related"]

# Strongest first: a check's decision is the strongest effect that applies (prohibit > restrict >
# strict_review), and incentive only when no punishment applies at all (联合奖惩: 失信 outweighs 守信).
EFFECT_RANK = {"prohibit": 4, "restrict": 3, "strict_review": 2, "incentive": 1, "clear": 0}
SEVERITY_RANK = {"minor": 1, "general": 2, "serious": 3}


class MeasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    # A name, as subjects' are: one line, nothing invisible (an override shows it reversed to the
    # approvers and the public who read it).
    name_zh: name_text(200)  # type: ignore[valid-type]
    name_en: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(one_line)
    ] = ""
    kind: MeasureKind
    actions: list[Action] = Field(min_length=1, max_length=len(ACTIONS))
    # 国办发〔2020〕49号: every measure needs a legal basis.
    legal_basis: text(2000)  # type: ignore[valid-type]
    implementing_agency: text(500)  # type: ignore[valid-type]
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""


class MeasureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    kind: MeasureKind
    actions: list[str]
    legal_basis: str
    implementing_agency: str
    source: str


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = (
        Field(default=None, description="A domain code; null: every domain")
    )
    list_type: ListType
    min_severity: Severity = Field(
        default="general", description="Records below this severity trigger nothing (minor: none by default)"
    )
    measure: text(64)  # type: ignore[valid-type]
    effect: Effect
    applies_to: AppliesTo = Field(
        default="subject",
        description="subject: the record's subject; related: the people the record names behind it "
        "(legal representative, principal, responsible persons, actual controller)",
    )
    effective_from: IsoDate | None = Field(default=None, description="Default: today (China time)")
    effective_to: IsoDate | None = None
    # 国办发〔2020〕49号: no punishment without a legal basis.
    legal_basis: text(2000)  # type: ignore[valid-type]
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""


class RuleOut(BaseModel):
    """A rule version as read from the table (`rule_id`, `domain_code`, `measure_code` columns)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(validation_alias=AliasChoices("rule_id", "id"))
    version: int
    domain: str | None = Field(validation_alias=AliasChoices("domain_code", "domain"))
    list_type: str
    min_severity: str
    measure: str = Field(validation_alias=AliasChoices("measure_code", "measure"))
    effect: str
    applies_to: AppliesTo = "subject"
    effective_from: date
    effective_to: date | None
    legal_basis: str
    source: str
    created_at: datetime
    created_by: str
    closed_at: datetime | None = None
    closed_reason: str | None = None


# --- coverage: which domain × list × severity leads to a measure --------------------------------------

LIST_TYPES: tuple[str, ...] = get_args(ListType)
SEVERITIES: tuple[str, ...] = get_args(Severity)


class RuleRef(BaseModel):
    id: uuid.UUID
    version: int


class CoverageMeasure(BaseModel):
    code: str
    name_zh: str
    kind: MeasureKind
    # The strongest effect among the rules that bring it (a domain's own and an every-domain one).
    effect: Effect
    actions: list[str] = Field(description="The actions it bears on, for this kind of record")
    rules: list[RuleRef]


class CoverageCell(BaseModel):
    domain: str
    list_type: ListType
    severity: Severity
    uncovered: bool = Field(description="True: no rule in force leads a record of this kind to a measure")
    measures: list[CoverageMeasure]


class CoverageOut(BaseModel):
    as_of: date
    cells: int
    uncovered: int = Field(description="How many cells no rule covers")
    items: list[CoverageCell]
