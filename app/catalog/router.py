import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.auth.deps import Admin
from app.catalog import calendar, service
from app.db import DbSession
from app.errors import NotFound
from app.kit.dates import IsoDate

router = APIRouter(tags=["catalog"])


class DomainOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    natural_persons: Literal["public", "shared"] = Field(
        description="Whether natural persons' records of this domain are published or only shared"
    )
    natural_persons_basis: str = Field(
        validation_alias=AliasChoices("persons_basis", "natural_persons_basis"),
        description="The legal basis for publishing them, when public",
    )


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
    return service.list_domains(session)


@router.put("/v1/admin/domains/{code}/publication", response_model=DomainOut, tags=["administration"])
def set_persons_publication(
    code: str, body: PersonsPublicationIn, principal: Admin, session: DbSession
) -> Any:
    """Whether natural persons' records of a domain are published (国办发〔2020〕49号: only where lawful
    and necessary, which `legal_basis` names) or only shared between agencies."""
    domain = service.set_persons_publication(
        session, principal.actor, code, body.natural_persons == "public", body.legal_basis
    )
    return domain


@router.get("/v1/domains/{code}", response_model=DomainDetailOut)
def domain_detail(code: str, session: DbSession) -> Any:
    found = service.domain_assignments(session, code)
    if found is None:
        raise NotFound(f"no domain {code!r}; see /v1/domains")
    domain, rows = found
    return DomainOut.model_validate(domain).model_dump() | {
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
    force: bool = Field(
        default=False,
        description="Confirm turning a statutory holiday (e.g. National Day) into a working day",
    )


class CalendarDayOut(BaseModel):
    date: dt.date
    workday: bool
    note: str
    source: str = "administrator"


def _day_out(override: Any) -> dict[str, Any]:
    return {"date": override.day, "workday": override.workday, "note": override.note}


@router.get("/v1/admin/holidays", response_model=list[CalendarDayOut])
def list_calendar_overrides(principal: Admin, session: DbSession) -> Any:
    """The administrator's entries that complete or correct the statutory calendar."""
    return [_day_out(o) for o in service.calendar_overrides(session)]


@router.post(
    "/v1/admin/holidays",
    response_model=CalendarDayOut,
    status_code=201,
    responses={409: {"description": "A statutory holiday without force, or a year not known"}},
)
def set_calendar_day(body: CalendarDayIn, principal: Admin, session: DbSession) -> Any:
    """Declare a day of a known year a holiday (workday: false) or a make-up working day (workday: true).

    409 `confirmation_required` (naming the holiday) when a statutory holiday, such as National Day,
    would become a working day without `"force": true`; 409 `calendar_year_unknown` when the day's year
    is not known: load that year's whole schedule first (`POST /v1/admin/calendar`)."""
    override = service.set_calendar_day(
        session, principal.actor, body.date, body.workday, body.note, force=body.force
    )
    return _day_out(override)


class LoadedYearOut(BaseModel):
    year: int
    source: str
    days: int
    loaded_at: dt.datetime


class CalendarOut(BaseModel):
    known_until: dt.date = Field(
        description="The last day of the unbroken run of known years: a year is known when chinesecalendar "
        "covers it or its whole official schedule was loaded"
    )
    days_known_ahead: int = Field(description="Days from today (China time) to known_until; negative past it")
    loaded_years: list[LoadedYearOut]
    overrides: list[CalendarDayOut]


@router.get("/v1/calendar", response_model=CalendarOut)
def working_day_calendar(session: DbSession) -> Any:
    """How far the working-day calendar is known, and the administrators' entries (public)."""
    until, ahead = calendar.calendar_horizon(session)
    return {
        "known_until": until,
        "days_known_ahead": ahead,
        "loaded_years": calendar.loaded_year_rows(session),
        "overrides": [_day_out(o) for o in service.calendar_overrides(session)],
    }


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Annotated[str, StringConstraints(max_length=100_000)] = Field(
        description="The schedule file's text: a date,workday,note header, then one line per day (CSV)"
    )
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = Field(
        default="", description="The notice the schedule comes from (title or document number)"
    )
    force: bool = Field(default=False, description="Confirm statutory holidays the file makes working days")


class ScheduleLoadedOut(BaseModel):
    year: int
    days: int
    replaced: int = Field(description="The year's earlier entries the schedule replaced")
    known_until: dt.date


@router.post(
    "/v1/admin/calendar",
    response_model=ScheduleLoadedOut,
    status_code=201,
    responses={
        409: {"description": "A statutory holiday made a working day without force"},
        422: {"description": "The file is wrong at the line named"},
    },
)
def load_schedule(body: ScheduleIn, principal: Admin, session: DbSession) -> Any:
    """Load a year's official schedule (holidays and make-up working days) as a whole, replacing that
    year's earlier entries; the year is known from then on. Same file as `registry calendar load`.

    422 `invalid_schedule` names the first wrong line (a malformed date, a day listed twice...);
    409 `confirmation_required` when the file makes a statutory holiday a working day without
    `"force": true`. Either way nothing is loaded."""
    schedule = calendar.parse_schedule(body.content)
    loaded = calendar.load_schedule(session, principal.actor, schedule, source=body.source, force=body.force)
    return loaded
