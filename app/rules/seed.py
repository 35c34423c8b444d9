"""The seed catalog's measures and default rules (seed_catalog.toml), each citing its source.

A database seeded by an earlier release gets the measures and rules added since, and nothing else:
a seed rule an administrator retired or replaced stays as the administrator left it, a seed rule whose
place an administrator's own rule already holds is not added (one rule per domain, list and measure),
and a rule added to a database already in use takes effect on the day it is loaded, so that what was
in force on a past day stays as it was (as-of answers and receipts do not change).
"""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.catalog.seed import pick, read_seed_catalog
from app.kit.clock import china_today, utcnow
from app.rules.models import Measure, Rule

# Seed rules get ids derived from what they are, so that every installation names them alike.
_SEED_RULE_NAMESPACE = uuid.UUID("6f1c1f0e-3b1a-4c55-9a57-52454749535a")


def _seed_key(entry: dict[str, Any]) -> str:
    """domain/list/measure, and /related for a rule reaching the people behind a record (the rules
    for subjects keep the keys, hence the ids, they always had)."""
    key = f"{entry.get('domain') or '*'}/{entry['list_type']}/{entry['measure']}"
    return key + "/related" if entry.get("applies_to", "subject") == "related" else key


def _place(domain: str | None, list_type: str, measure: str, applies_to: str) -> tuple[str, ...]:
    return (domain or "*", list_type, measure, applies_to)


def seed_rule_id(entry: dict[str, Any]) -> uuid.UUID:
    """The rule id a seed rule entry gets in every installation."""
    return uuid.uuid5(_SEED_RULE_NAMESPACE, _seed_key(entry))


def has_measures(session: Session) -> bool:
    """True when nothing of the seed's measures and rules is missing (app.seed then loads nothing)."""
    measures, rules = _missing(session, read_seed_catalog())
    return not measures and not rules


def _missing(session: Session, seed: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The seed measures whose code is unknown, and the seed rules never loaded whose place is free."""
    known_measures = set(session.scalars(select(Measure.code)))
    known_rules = set(session.scalars(select(Rule.rule_id).distinct()))
    # An administrator's rule still open holds its (domain, list, measure): adding the seed rule
    # beside it would make the answer ambiguous, which the rules service refuses (409).
    open_rules = select(Rule.domain_code, Rule.list_type, Rule.measure_code, Rule.applies_to).where(
        Rule.closed_reason.is_(None), Rule.effective_to.is_(None) | (Rule.effective_to >= china_today())
    )
    held = {_place(*row) for row in session.execute(open_rules)}
    measures = [m for m in seed.get("measures", []) if m["code"] not in known_measures]
    rules = [
        r
        for r in seed.get("rules", [])
        if seed_rule_id(r) not in known_rules
        and _place(r.get("domain"), r["list_type"], r["measure"], r.get("applies_to", "subject")) not in held
    ]
    return measures, rules


def load_seed_measures_and_rules(session: Session, seed: dict[str, Any]) -> dict[str, int]:
    """The measures and default rules of the seed catalog that the database lacks, each citing its
    source (no audit entry: the caller records the load)."""
    fresh = session.scalars(select(Measure.code).limit(1)).first() is None
    missing_measures, missing_rules = _missing(session, seed)
    now = utcnow()
    today = china_today()
    measures = [
        {"name_en": "", "implementing_agency": "", "source": ""} | pick(m, Measure) | {"created_at": now}
        for m in missing_measures
    ]
    rules = []
    for entry in missing_rules:
        start: date = entry["effective_from"]
        if not fresh and start < today:
            start = today
            if entry.get("effective_to") is not None and entry["effective_to"] < start:
                continue  # it would have ended before it could begin
        rules.append(
            {
                "id": uuid.uuid5(_SEED_RULE_NAMESPACE, _seed_key(entry) + "/1"),
                "rule_id": seed_rule_id(entry),
                "version": 1,
                "domain_code": entry.get("domain"),
                "list_type": entry["list_type"],
                "min_severity": entry["min_severity"],
                "measure_code": entry["measure"],
                "effect": entry["effect"],
                "applies_to": entry.get("applies_to", "subject"),
                "effective_from": start,
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
