"""Notices as agencies send them and read them, and as the subject reads them by query code."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.kit.dates import DecisionDate
from app.kit.text import text
from app.records.schemas import RecordIn

NoticeStatus = Literal["notified", "finalized", "withdrawn", "expired"]


class NoticeIn(RecordIn):
    """The listing the agency intends (a record body), and until when the subject may answer."""

    respond_by: date | None = Field(
        default=None,
        description="The last day the subject may state a defence; by default, and at the earliest, "
        "5 working days after today by the statutory calendar",
    )


class NoticeCreated(BaseModel):
    id: uuid.UUID
    query_code: str = Field(description="Served on the subject with the notice; shown only now")
    status: NoticeStatus
    respond_by: date
    calendar_note: str | None = None
    record: RecordIn


class StatementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: text(4000) = Field(description="The subject's statement of defence (陈述申辩)")  # type: ignore[valid-type]
    contact: text(200) = Field(description="How the agency can reach the subject")  # type: ignore[valid-type]


class StatementOut(BaseModel):
    statement: str
    contact: str
    stated_at: datetime


class NoticeOut(BaseModel):
    id: uuid.UUID
    status: NoticeStatus
    external_id: str
    domain: str
    respond_by: date
    expires_on: date = Field(description="Unfinalized after this day, the notice expires (409 on finalize)")
    calendar_note: str | None
    created_at: datetime
    created_by: str
    record: RecordIn
    statement: StatementOut | None
    considered: str | None
    closed_at: datetime | None
    closed_by: str | None
    withdraw_reason: str | None
    record_id: uuid.UUID | None = Field(description="The record the notice was finalized into")


class NoticePage(BaseModel):
    items: list[NoticeOut]
    total: int
    limit: int
    offset: int


class FinalizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    considered: text(2000) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="How the subject's statement was weighed; required when a statement was received",
    )
    decision_date: DecisionDate | None = Field(
        default=None,
        description="The day of the listing decision, made after the statement period or once the "
        "statement was received; default: today (China). The record carries it, not the notice's date",
    )
    decision_no: text(100) | None = Field(  # type: ignore[valid-type]
        default=None, description="The listing decision's number; default: the one the notice gave"
    )


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: text(1000) | None = None  # type: ignore[valid-type]


class NamedRef(BaseModel):
    code: str
    name_zh: str


class NoticeSubject(BaseModel):
    kind: str
    name: str
    identifier: str = Field(description="A person's identity number is shown masked")


class PublicStatement(BaseModel):
    statement: str
    stated_at: datetime


class PublicNoticeOut(BaseModel):
    """What the subject is told (国办发〔2020〕49号 (八)): the reasons, the basis and its rights."""

    status: NoticeStatus
    agency: NamedRef
    domain: NamedRef
    subject: NoticeSubject
    list_type: str
    severity: str
    reasons: str = Field(description="The conduct the listing is for")
    decision_no: str
    decision_date: date | None = Field(description="The listing decision's day, once finalized; null before")
    basis: str = Field(description="The legal basis")
    rights: list[str]
    notified_on: date
    respond_by: date
    may_state: bool = Field(description="Whether a statement can still be given")
    statement: PublicStatement | None


class RepairCondition(BaseModel):
    code: str
    zh: str


class RepairChannel(BaseModel):
    web: str = Field(description="The registry's repair form for this record")
    api: str = Field(description="The public API to apply through (body: record_id, applicant, ...)")
    decision_within_workdays: int


class RepairQuery(BaseModel):
    web: str = Field(description="The one-stop public query")
    progress: str = Field(description="Where an application is followed by its query code")


class RepairNoticeSubject(BaseModel):
    kind: str
    name: str
    identifier: str


class RepairNoticeOut(BaseModel):
    """信用修复告知书: served with the listing decision ("两书同达")."""

    title: str
    record_id: uuid.UUID
    issued_on: date
    subject: RepairNoticeSubject
    designating_agency: NamedRef
    domain: str
    list_type: str
    severity: str
    decision_no: str
    decision_date: date
    publicity_end: date | None
    earliest_repair_date: date | None = Field(
        description="The first day repair may be applied for; null for court listings, which end on "
        "performance (法释〔2017〕7号 第十条)"
    )
    earliest_repair: str = Field(description="The same in a sentence, in Chinese")
    conditions: list[RepairCondition]
    channel: RepairChannel
    query: RepairQuery
