"""Reading the catalog (plans, domains, agencies and their roles), and the working-day calendar with
the administrators' overrides. The seed catalog is loaded by app.catalog.seed."""

from datetime import date
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog import calendar
from app.catalog.models import Agency, Assignment, CalendarOverride, CalendarYear, Domain, Plan
from app.errors import NotFound, ValidationFailed
from app.kit.workdays import WorkdayCalendar

# Agencies' and domains' names by code, read once per process: the catalog changes only when the
# seed is loaded.
_agency_names: dict[str, str] = {}
_domain_names: dict[str, str] = {}


def agency_names(session: Session | Connection) -> dict[str, str]:
    if not _agency_names:
        _agency_names.update(session.execute(select(Agency.code, Agency.name_zh)).all())
    return _agency_names


def domain_names(session: Session | Connection) -> dict[str, str]:
    if not _domain_names:
        _domain_names.update(session.execute(select(Domain.code, Domain.name_zh)).all())
    return _domain_names


def cached_names() -> tuple[dict[str, str], dict[str, str]] | None:
    """Agencies' and domains' names if this process has read both (no database access), else None."""
    return (_agency_names, _domain_names) if _agency_names and _domain_names else None


def forget_names() -> None:
    """The catalog is being (re)loaded: names are read again on next use."""
    _agency_names.clear()
    _domain_names.clear()


def cached_agency_names() -> dict[str, str] | None:
    """The names if this process has read them (no database access), else None."""
    return _agency_names or None


def domain_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Domain.code)))


def agency_exists(session: Session, code: str) -> bool:
    return session.get(Agency, code) is not None


def plan_exists(session: Session, plan: str) -> bool:
    return session.get(Plan, plan) is not None


def assigned_domains(session: Session, *, plan: str | None, lead_agency: str | None) -> set[str]:
    """Domains some plan (or `plan`) assigns; with `lead_agency`, only those it leads."""
    query = select(Assignment.domain_code)
    if plan is not None:
        query = query.where(Assignment.plan_code == plan)
    if lead_agency is not None:
        query = query.where(Assignment.agency_code == lead_agency, Assignment.role == "lead")
    return set(session.scalars(query))


def agency_domains(session: Session, agency_code: str) -> set[str]:
    """Domains in which some plan makes the agency a lead or participating unit."""
    return set(session.scalars(select(Assignment.domain_code).where(Assignment.agency_code == agency_code)))


# Courts are known by their names (最高人民法院, 枣庄市中级人民法院...): the catalog's agencies are data.
COURT_NAME_ENDING = "法院"


def is_court(session: Session, agency_code: str) -> bool:
    """Whether the agency is a people's court."""
    name = session.scalar(select(Agency.name_zh).where(Agency.code == agency_code))
    return name is not None and name.endswith(COURT_NAME_ENDING)


# The credit office of a jurisdiction (信用办): the body that coordinates the credit system there, and
# reviews a repair an agency refused. Its code is the jurisdiction's, then this.
CREDIT_OFFICE_SUFFIX = ".credit_office"


def credit_office_for(session: Session, agency_code: str) -> str | None:
    """The credit office of the agency's jurisdiction; None when the catalog has none."""
    jurisdiction = session.scalar(select(Agency.jurisdiction).where(Agency.code == agency_code))
    office = f"{jurisdiction}{CREDIT_OFFICE_SUFFIX}"
    return office if session.get(Agency, office) is not None else None


def workday_calendar(session: Session) -> WorkdayCalendar:
    overrides = {row.day: row.workday for row in session.scalars(select(CalendarOverride))}
    return WorkdayCalendar(overrides, session.scalars(select(CalendarYear.year)))


def set_persons_publication(session: Session, actor: str, code: str, public: bool, basis: str) -> Domain:
    domain = session.get(Domain, code)
    if domain is None:
        raise NotFound(f"no domain {code!r}; see /v1/domains")
    if public and not basis:
        raise ValidationFailed.one(
            "legal_basis", "publishing natural persons' records needs the law that makes it lawful"
        )
    domain.persons_public, domain.persons_basis = public, basis if public else ""
    session.flush()
    payload = {"natural_persons": "public" if public else "shared", "legal_basis": basis}
    audit.append(session, actor, [audit.Event("domain.persons_publication", "domain", code, payload)])
    return domain


def persons_public_domains() -> Any:
    """A selectable of the codes of domains whose natural persons' records are published, for the
    public face's queries to compose (they never read the catalog's tables themselves)."""
    return select(Domain.code).where(Domain.persons_public.is_(True))


def list_domains(session: Session) -> list[Domain]:
    return list(session.scalars(select(Domain).order_by(Domain.code)))


def domain_assignments(
    session: Session, code: str
) -> tuple[Domain, list[tuple[Assignment, Plan, Agency]]] | None:
    domain = session.get(Domain, code)
    if domain is None:
        return None
    rows = session.execute(
        select(Assignment, Plan, Agency)
        .join(Plan, Plan.code == Assignment.plan_code)
        .join(Agency, Agency.code == Assignment.agency_code)
        .where(Assignment.domain_code == code)
        .order_by(Plan.issued_on.desc(), Assignment.item, Assignment.role, Assignment.id)
    ).all()
    return domain, [(row[0], row[1], row[2]) for row in rows]


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.jurisdiction, Agency.code)))


def calendar_overrides(session: Session) -> list[CalendarOverride]:
    return list(session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)))


def set_calendar_day(
    session: Session, actor: str, day: date, workday: bool, note: str, *, force: bool = False
) -> CalendarOverride:
    """Enter or replace the administrator's word on one day of a known year; turning a statutory
    holiday into a working day needs `force`."""
    calendar.require_known_year(session, day)
    holiday = calendar.confirm_holiday_change(session, day, workday, force)
    override = session.get(CalendarOverride, day)
    if override is None:
        override = CalendarOverride(day=day, workday=workday, note=note)
        session.add(override)
    else:
        override.workday, override.note = workday, note
    session.flush()
    audit.append(
        session,
        actor,
        [
            audit.Event(
                "calendar.day_set",
                "calendar",
                day.isoformat(),
                {"workday": workday, "note": note} | ({"forced_over": holiday} if holiday else {}),
            )
        ],
    )
    return override
