"""Reading the catalog, loading the seed catalog, and the working-day calendar with its overrides."""

import tomllib
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog.models import Agency, Assignment, CalendarOverride, Domain, Plan
from app.kit.clock import utcnow
from app.kit.workdays import WorkdayCalendar
from app.rules.models import Measure, Rule

SEED_CATALOG = Path(__file__).with_name("seed_catalog.toml")


def read_seed_catalog(path: Path = SEED_CATALOG) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


SEED_LOCK_KEY = 0x7365656463617461  # "seedcata"


@dataclass(frozen=True)
class LoadResult:
    loaded: bool
    counts: dict[str, int]


def load_seed_catalog(session: Session, actor: str = "system", path: Path = SEED_CATALOG) -> LoadResult:
    """Load what is missing: plans, domains, agencies and assignments when there are no plans; the
    measures and default rules when there are no measures (databases seeded before they existed)."""
    seed: dict[str, Any] | None = None
    counts: dict[str, int] = {}
    if session.get_bind().dialect.name == "postgresql":
        # Instances starting together: one loads, the others then find the catalog there.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
    if not session.scalar(select(func.count()).select_from(Plan)):
        seed = read_seed_catalog(path)
        counts |= _load_plans(session, seed)
    if not session.scalar(select(func.count()).select_from(Measure)):
        seed = seed or read_seed_catalog(path)
        counts |= load_seed_measures_and_rules(session, seed)
    if not counts:
        return LoadResult(False, {})
    _agency_names.clear()
    audit.append(session, actor, [audit.Event("catalog.loaded", "catalog", "seed", {"counts": counts})])
    session.flush()
    return LoadResult(True, counts)


def _load_plans(session: Session, seed: dict[str, Any]) -> dict[str, int]:
    session.execute(insert(Plan), [_pick(p, Plan) for p in seed["plans"]])
    session.execute(insert(Domain), [_pick(d, Domain) for d in seed["domains"]])
    session.execute(
        insert(Agency), [{"aliases": [], "name_en": ""} | _pick(a, Agency) for a in seed["agencies"]]
    )
    assignments = []
    for item in seed["assignments"]:
        for role, codes in (("lead", item.get("lead", [])), ("participant", item.get("participants", []))):
            for code in codes:
                assignments.append(
                    {
                        "plan_code": item["plan"],
                        "domain_code": item["domain"],
                        "agency_code": code,
                        "role": role,
                        "item": item["item"],
                        "title_zh": item["title_zh"],
                        "source": item.get("source", ""),
                    }
                )
    session.execute(insert(Assignment), assignments)
    return {
        "plans": len(seed["plans"]),
        "domains": len(seed["domains"]),
        "agencies": len(seed["agencies"]),
        "assignments": len(assignments),
    }


# Seed rules get ids derived from what they are, so that every installation names them alike.
_SEED_RULE_NAMESPACE = uuid.UUID("6f1c1f0e-3b1a-4c55-9a57-52454749535a")


def load_seed_measures_and_rules(session: Session, seed: dict[str, Any]) -> dict[str, int]:
    """The measures and default rules of the seed catalog, each citing its source (no audit entry:
    the caller records the load)."""
    now = utcnow()
    measures = [
        {"name_en": "", "implementing_agency": "", "source": ""} | _pick(m, Measure) | {"created_at": now}
        for m in seed.get("measures", [])
    ]
    rules = []
    for entry in seed.get("rules", []):
        key = f"{entry.get('domain') or '*'}/{entry['list_type']}/{entry['measure']}"
        rules.append(
            {
                "id": uuid.uuid5(_SEED_RULE_NAMESPACE, key + "/1"),
                "rule_id": uuid.uuid5(_SEED_RULE_NAMESPACE, key),
                "version": 1,
                "domain_code": entry.get("domain"),
                "list_type": entry["list_type"],
                "min_severity": entry["min_severity"],
                "measure_code": entry["measure"],
                "effect": entry["effect"],
                "effective_from": entry["effective_from"],
                "effective_to": entry.get("effective_to"),
                "legal_basis": entry["legal_basis"],
                "source": entry.get("source", ""),
                "created_at": now,
                "created_by": "system:seed",
                "closed_at": None,
                "closed_reason": None,
            }
        )
    if measures:
        session.execute(insert(Measure), measures)
    if rules:
        session.execute(insert(Rule), rules)
    return {"measures": len(measures), "rules": len(rules)}


def _pick(entry: dict[str, Any], model: type) -> dict[str, Any]:
    columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
    return {key: value for key, value in entry.items() if key in columns}


# Agencies' names by code, read once per process: the catalog changes only when the seed is loaded.
_agency_names: dict[str, str] = {}


def agency_names(session: Session) -> dict[str, str]:
    if not _agency_names:
        _agency_names.update(session.execute(select(Agency.code, Agency.name_zh)).all())
    return _agency_names


def cached_agency_names() -> dict[str, str] | None:
    """The names if this process has read them (no database access), else None."""
    return _agency_names or None


def domain_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Domain.code)))


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


def workday_calendar(session: Session) -> WorkdayCalendar:
    overrides = {row.day: row.workday for row in session.scalars(select(CalendarOverride))}
    return WorkdayCalendar(overrides)


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


def set_calendar_day(session: Session, actor: str, day: date, workday: bool, note: str) -> CalendarOverride:
    """Enter or replace the administrator's word on one day."""
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
        [audit.Event("calendar.day_set", "calendar", day.isoformat(), {"workday": workday, "note": note})],
    )
    return override
