import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.deps import Admin
from app.catalog import service
from app.db import DbSession
from app.errors import NotFound

router = APIRouter(tags=["catalog"])


class DomainOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    natural_persons: Literal["public", "shared"] = Field(
        description="Whether natural persons' records of this domain are published or only shared"
    )
    natural_persons_basis: str = Field(description="The legal basis for publishing them, when public")


class PersonsPublicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    natural_persons: Literal["public", "shared"]
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        default="", description="Required to publish: the law that makes it lawful and necessary"
    )


class PlanRef(BaseModel):
    code: str
    title: str
    document_no: str


class AgencyRef(BaseModel):
    code: str
    name_zh: str


class AssignmentOut(BaseModel):
    plan: PlanRef
    agency: AgencyRef
    role: str
    item: int
    source: str


class DomainDetailOut(DomainOut):
    assignments: list[AssignmentOut]


@router.get("/v1/domains", response_model=list[DomainOut])
def list_domains(session: DbSession) -> Any:
    return [service.domain_out(domain) for domain in service.list_domains(session)]


@router.put("/v1/admin/domains/{code}/publication", response_model=DomainOut, tags=["administration"])
def set_persons_publication(
    code: str, body: PersonsPublicationIn, principal: Admin, session: DbSession
) -> Any:
    """Whether natural persons' records of a domain are published (国办发〔2020〕49号: only where lawful
    and necessary, which `legal_basis` names) or only shared between agencies."""
    domain = service.set_persons_publication(
        session, principal.actor, code, body.natural_persons == "public", body.legal_basis
    )
    return service.domain_out(domain)


@router.get("/v1/domains/{code}", response_model=DomainDetailOut)
def domain_detail(code: str, session: DbSession) -> Any:
    found = service.domain_assignments(session, code)
    if found is None:
        raise NotFound(f"no domain {code!r}; see /v1/domains")
    domain, rows = found
    return service.domain_out(domain) | {
        "assignments": [
            {
                "plan": {"code": plan.code, "title": plan.title, "document_no": plan.document_no},
                "agency": {"code": agency.code, "name_zh": agency.name_zh},
                "role": assignment.role,
                "item": assignment.item,
                "source": assignment.source,
            }
            for assignment, plan, agency in rows
        ],
    }


class AgencyOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    jurisdiction: str


@router.get("/v1/agencies", response_model=list[AgencyOut])
def list_agencies(session: DbSession) -> Any:
    return service.list_agencies(session)


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    workday: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class CalendarDayOut(CalendarDayIn):
    source: str = "administrator"


@router.get("/v1/admin/holidays", response_model=list[CalendarDayOut])
def list_calendar_overrides(principal: Admin, session: DbSession) -> Any:
    """The administrator's entries that complete or correct the statutory calendar."""
    return [
        {"date": o.day, "workday": o.workday, "note": o.note} for o in service.calendar_overrides(session)
    ]


@router.post("/v1/admin/holidays", response_model=CalendarDayOut, status_code=201)
def set_calendar_day(body: CalendarDayIn, principal: Admin, session: DbSession) -> Any:
    """Declare a day a holiday (workday: false) or a make-up working day (workday: true)."""
    override = service.set_calendar_day(session, principal.actor, body.date, body.workday, body.note)
    return {"date": override.day, "workday": override.workday, "note": override.note}
