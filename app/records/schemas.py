"""Records as agencies push them (RecordIn, RecordPatch) and as the registry answers (RecordOut)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.kit.dates import DecisionDate, IsoDate
from app.kit.identifiers import IdentifierError, validate_identifier
from app.kit.masking import is_resident_id
from app.kit.text import name as name_text
from app.kit.text import text

ListType = Literal["black", "red", "focus"]
Severity = Literal["minor", "general", "serious"]
SubjectKind = Literal["legal_person", "natural_person", "other_org", "individual_business"]
IdentifierType = Literal["uscc", "resident_id", "other"]
Visibility = Literal["public", "shared", "restricted"]
Status = Literal["active", "repaired", "expired", "revoked", "exited"]
# 法释〔2017〕7号 第一条: the six grounds on which a court lists a dishonest debtor, in its order.
ListingBasis = Literal[
    "refuses_despite_ability",  # (一) 有履行能力而拒不履行
    "obstructs_enforcement",  # (二) 以伪造证据、暴力、威胁等方法妨碍、抗拒执行
    "evades_enforcement",  # (三) 以虚假诉讼、虚假仲裁或隐匿、转移财产等方法规避执行
    "violates_property_report",  # (四) 违反财产报告制度
    "violates_consumption_order",  # (五) 违反限制消费令
    "refuses_settlement_agreement",  # (六) 无正当理由拒不履行执行和解协议
]
# The same grounds as a court's listing publishes them (法释〔2017〕7号 第六条（四）: the dishonest
# conduct's specific circumstances are part of what is published).
LISTING_BASIS_ZH = {
    "refuses_despite_ability": "有履行能力而拒不履行生效法律文书确定义务",
    "obstructs_enforcement": "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
    "evades_enforcement": "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
    "violates_property_report": "违反财产报告制度",
    "violates_consumption_order": "违反限制消费令",
    "refuses_settlement_agreement": "无正当理由拒不履行执行和解协议",
}
# Why a listing ends other than by repair, expiry or revocation (法释〔2017〕7号 第十条).
ExitReason = Literal["obligations_performed", "settled", "other_lawful"]


# Which identifiers each kind of subject may carry: persons have identity numbers, organizations
# unified social credit codes (GB 32100-2015); "other" covers passports and pre-2015 codes.
IDENTIFIER_TYPES_BY_KIND: dict[str, tuple[str, ...]] = {
    "natural_person": ("resident_id", "other"),
    "legal_person": ("uscc", "other"),
    "other_org": ("uscc", "other"),
    "individual_business": ("uscc", "resident_id", "other"),
}

MAX_BATCH = 10_000


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SubjectKind
    name: name_text(200)  # type: ignore[valid-type]
    identifier_type: IdentifierType
    identifier: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Required, except for an organisation with no code (identifier_type other): left "
        "out, the registry issues a reference on the first push and answers with it",
    )
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[1-8][0-9]{5}$")] | None = Field(
        default=None,
        description="An organisation without a code: the GB/T 2260 code of the administrative division "
        "it operates in; with the name, it finds the reference the registry issued (two agencies "
        "listing the same unregistered group reach one subject)",
    )

    @property
    def known_identifier(self) -> str:
        """The identifier, given or issued (ingest issues references before it places subjects)."""
        assert self.identifier is not None, "a reference is issued before the subject is placed"
        return self.identifier

    @model_validator(mode="after")
    def _identifier_or_jurisdiction(self) -> "SubjectIn":
        if self.identifier is not None:
            return self
        if self.identifier_type != "other" or self.kind == "natural_person":
            raise ValueError(
                "identifier is required; only an organisation with identifier_type other may leave it "
                "out (the registry then issues a reference)"
            )
        if self.jurisdiction is None:
            raise ValueError(
                "an organisation without an identifier needs its jurisdiction (GB/T 2260 code): the "
                "registry finds its reference again by name and jurisdiction"
            )
        return self

    @field_validator("identifier_type")
    @classmethod
    def _type_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind and value not in IDENTIFIER_TYPES_BY_KIND[kind]:
            allowed = ", ".join(IDENTIFIER_TYPES_BY_KIND[kind])
            raise ValueError(f"a {kind} is identified by {allowed}, not {value}")
        return value

    @field_validator("identifier")
    @classmethod
    def _valid_identifier(cls, value: str | None, info: ValidationInfo) -> str | None:
        identifier_type = info.data.get("identifier_type")
        if identifier_type is None or value is None:
            return value
        try:
            normalized = validate_identifier(identifier_type, value)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from None
        kind = info.data.get("kind")
        if (
            identifier_type == "other"
            and kind in ("natural_person", "individual_business")
            and is_resident_id(value, old_form=kind == "natural_person")
        ):
            # A person's number shaped like a resident identity number, its check failing or left
            # off, or in the old 15-digit form: under "other" it would escape the minors rule, the
            # masking and the lookup by the real number (GB 11643-1999 replaced the 15-digit form;
            # every person has the 18-digit one). An individual business may still give a 15-digit
            # registration number (工商注册号), which has the old form's shape.
            raise ValueError(
                "a person's resident identity number is given as identifier_type resident_id, in its "
                "18-digit form (GB 11643-1999); this one is shaped like one but does not check"
            )
        return normalized


class NoticeServed(BaseModel):
    """A notice of the intended listing that the agency served outside the registry (国办发〔2020〕49号
    (八): the reasons, basis and rights, and a time to state a defence)."""

    model_config = ConfigDict(extra="forbid")

    document_no: text(128) = Field(description="The notice's document number")  # type: ignore[valid-type]
    served_on: date = Field(description="The day it was served on the subject")


# The people behind an organisation whom joint sanctions may reach (文明委〔2020〕6号 二、9: 相关责任
# 主体; 枣文明委〔2019〕2号 二、3 相关机构及责任人, 二、13 责任人).
PartyRole = Literal["legal_representative", "principal", "responsible_person", "actual_controller"]
MAX_RELATED = 20


class RelatedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: PartyRole
    subject: SubjectIn


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: text(128)  # type: ignore[valid-type]
    domain: text(64)  # type: ignore[valid-type]
    list_type: ListType
    severity: Severity
    subject: SubjectIn
    conduct: text(4000)  # type: ignore[valid-type]
    decision_no: text(128)  # type: ignore[valid-type]
    decision_date: DecisionDate
    legal_basis: text(2000)  # type: ignore[valid-type]
    publicity_end: IsoDate | None = Field(
        default=None,
        description="The last day the record is published; default by domain, list and severity. A "
        "court listing on the first ground (refuses_despite_ability) has none by default: it stays "
        "until the debt is performed",
    )
    visibility: Visibility | None = None
    listing_basis: ListingBasis | None = Field(
        default=None, description="Court listings (court_judgments): the ground of 法释〔2017〕7号 第一条"
    )
    performance: text(2000) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Court listings (court_judgments): the obligations the judgment sets and how far "
        "the debtor has performed them (法释〔2017〕7号 第六条（三）); published with the listing",
    )
    notice: NoticeServed | None = Field(
        default=None,
        description="A serious black listing outside court_judgments: the notice served on the subject "
        "at least the statement period (5 working days) before this push, unless the listing comes "
        "from a notice finalized in the registry (POST /v1/notices)",
    )
    related: list[RelatedIn] | None = Field(
        default=None,
        max_length=MAX_RELATED,
        description="The organisation's legal representative, principal, responsible persons and actual "
        "controller: measures whose rules reach related parties (applies_to: related) reach them "
        "through this record",
    )

    @field_validator("related")
    @classmethod
    def _no_parties_is_none(cls, value: list[RelatedIn] | None) -> list[RelatedIn] | None:
        # An empty list names no one, as the field left out does: one push, one content hash.
        return value or None


class RecordPatch(BaseModel):
    """The fields an agency may correct; domain, list and subject are the record's identity."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity | None = None
    conduct: text(4000) | None = None  # type: ignore[valid-type]
    decision_no: text(128) | None = None  # type: ignore[valid-type]
    decision_date: DecisionDate | None = None
    legal_basis: text(2000) | None = None  # type: ignore[valid-type]
    publicity_end: IsoDate | None = None
    visibility: Visibility | None = None
    # A court updates how far the debtor has performed as it goes (court listings only).
    performance: text(2000) | None = None  # type: ignore[valid-type]


# A correction that changes these is a new decision on the record: it names that decision.
DECISIVE_FIELDS = ("severity", "decision_date", "publicity_end")


class RecordCorrection(RecordPatch):
    """PATCH /v1/records/{id}: the fields to change, and why (the record's history keeps both)."""

    reason: text(1000) = Field(description="Why the record is corrected")  # type: ignore[valid-type]
    correction_decision_no: text(128) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="The decision that corrects the record; required when severity, decision_date "
        "or publicity_end change",
    )


class ExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ExitReason
    decision_no: text(128)  # type: ignore[valid-type]


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: text(1000)  # type: ignore[valid-type]
    decision_no: text(128)  # type: ignore[valid-type]


class BatchIn(BaseModel):
    # Items stay raw here so that one bad item is reported by its index instead of failing the batch.
    # `Any`, not `dict`: an item that is no object at all (null, a string) is that item's error too.
    records: list[Any] = Field(
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} RecordIn objects",
        json_schema_extra={"items": {"$ref": "#/components/schemas/RecordIn"}},
    )


class BatchItemOut(BaseModel):
    index: int
    status: Literal["created", "unchanged", "error"]
    id: uuid.UUID | None = None
    error: str | None = None
    detail: str | None = None
    fields: list[dict[str, str]] | None = None


class BatchOut(BaseModel):
    created: int
    unchanged: int
    errors: int
    results: list[BatchItemOut]


class AgencyRef(BaseModel):
    code: str
    name_zh: str


class SubjectOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    identifier_type: str
    identifier: str


class RelatedOut(BaseModel):
    role: str
    subject: "SubjectOut"


class RecordOut(BaseModel):
    id: uuid.UUID
    external_id: str
    domain: str
    list_type: str
    severity: str
    subject: SubjectOut
    conduct: str
    decision_no: str
    decision_date: date
    legal_basis: str
    publicity_start: date
    publicity_end: date | None
    visibility: str
    listing_basis: str | None = None
    performance: str | None = None
    status: Status
    version: int
    under_objection: bool
    designating_agency: AgencyRef
    received_at: datetime
    updated_at: datetime
    late_disclosure: bool | None
    calendar_note: str | None = None
    exited_at: datetime | None = None
    exit_reason: str | None = None
    exit_decision_no: str | None = None
    exit_sync_by: date | None = Field(
        default=None, description="Other platforms must have taken the exit down by this day"
    )
    related: list["RelatedOut"] = Field(default_factory=list)
    notice_id: uuid.UUID | None = Field(
        default=None, description="The registry notice (POST /v1/notices) this listing was finalized from"
    )
    notice: NoticeServed | None = Field(
        default=None, description="The notice the agency attested it served outside the registry"
    )


class RelatedTo(BaseModel):
    """An organisation's record that names the subject behind it (its legal representative...)."""

    record_id: uuid.UUID
    role: str
    organisation: SubjectOut
    domain: str
    list_type: str
    severity: str
    status: str
    designating_agency: AgencyRef


class SubjectRecordsOut(BaseModel):
    subject: SubjectOut
    names: list[str]
    records: list[RecordOut]
    related_to: list[RelatedTo] = Field(
        default_factory=list,
        description="Organisations' records naming this subject behind them: measures the rules extend "
        "to related parties reach it through these",
    )


class ChangeOut(BaseModel):
    cursor: str
    at: datetime
    event: str
    record_id: str
    agency: str | None = None
    domain: str | None = None
    status: str | None = None
    version: int | None = None


class ChangesOut(BaseModel):
    items: list[ChangeOut]
    next: str | None


class RecordEventOut(BaseModel):
    seq: int
    at: datetime
    event: str
    actor: str
    version: int | None
    status: str | None
    under_objection: bool | None
    details: dict[str, Any]


class PublicityPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortest_months: int = Field(ge=0, le=120, description="publicity_end may not come earlier")
    default_months: int = Field(ge=1, le=120, description="publicity_end when the agency gives none")
    longest_months: int = Field(ge=1, le=120, description="publication stops by itself at the latest then")
    repair_after_months: int = Field(ge=0, le=120, description="credit repair may be applied for after this")


class PublicityPolicyOut(PublicityPolicyIn):
    domain: str
    severity: Severity
    source: Literal["default", "administrator"]


class RecordPage(BaseModel):
    items: list[RecordOut]
    total: int
    limit: int
    offset: int


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        alias="from", description="The identifier of the subject merged away"
    )
    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="The identifier of the subject that remains"
    )
    reason: text(1000) = Field(description="Why the two are the same entity")  # type: ignore[valid-type]


class MergeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    source: SubjectOut = Field(alias="from")
    into: SubjectOut
    reason: str
    records: list[uuid.UUID] = Field(description="The records moved to the subject that remains")
    parties: int = Field(description="How many related-party entries now name the subject that remains")
    merged_at: datetime
    merged_by: str
    undone_at: datetime | None
    undone_by: str | None
