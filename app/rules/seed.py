"""The seed catalog's measures and default rules (seed_catalog.toml), each citing its source."""

import uuid
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.catalog.seed import pick
from app.kit.clock import utcnow
from app.rules.models import Measure, Rule


def has_measures(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Measure)))


# Seed rules get ids derived from what they are, so that every installation names them alike.
_SEED_RULE_NAMESPACE = uuid.UUID("6f1c1f0e-3b1a-4c55-9a57-52454749535a")


def load_seed_measures_and_rules(session: Session, seed: dict[str, Any]) -> dict[str, int]:
    """The measures and default rules of the seed catalog, each citing its source (no audit entry:
    the caller records the load)."""
    now = utcnow()
    measures = [
        {"name_en": "", "implementing_agency": "", "source": ""} | pick(m, Measure) | {"created_at": now}
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
