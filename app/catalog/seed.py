"""The seed catalog (seed_catalog.toml): plans, domains, agencies and their roles, transcribed from the
two seed plans, each entry citing its source."""

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.catalog import service
from app.catalog.models import Agency, Assignment, Domain, Plan

SEED_CATALOG = Path(__file__).with_name("seed_catalog.toml")


def read_seed_catalog(path: Path = SEED_CATALOG) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def has_plans(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Plan)))


def load_plans(session: Session, seed: dict[str, Any]) -> dict[str, int]:
    session.execute(insert(Plan), [pick(p, Plan) for p in seed["plans"]])
    session.execute(insert(Domain), [pick(d, Domain) for d in seed["domains"]])
    session.execute(
        insert(Agency), [{"aliases": [], "name_en": ""} | pick(a, Agency) for a in seed["agencies"]]
    )
    service.forget_names()
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


def pick(entry: dict[str, Any], model: type) -> dict[str, Any]:
    columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
    return {key: value for key, value in entry.items() if key in columns}
