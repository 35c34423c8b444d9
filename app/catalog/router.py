from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints

from app.auth.deps import Admin
from app.catalog import service
from app.db import DbSession
from app.errors import NotFound
from app.kit.dates import IsoDate

router = APIRouter(tags=["catalog"])


class DomainOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


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
    return service.list_domains(session)


@router.get("/v1/domains/{code}", response_model=DomainDetailOut)
def domain_detail(code: str, session: DbSession) -> Any:
    found = service.domain_assignments(session, code)
    if found is None:
        raise NotFound(f"no domain {code!r}; see /v1/domains")
    domain, rows = found
    return {
        "code": domain.code,
        "name_zh": domain.name_zh,
        "name_en": domain.name_en,
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

    date: IsoDate
    workday: StrictBool  # JSON true/false only: 0 or "no" must not silently declare a holiday
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
