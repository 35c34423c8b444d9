"""Loading the seed catalog into an empty registry: the plans, domains and agencies (app.catalog.seed),
then the measures and default rules (app.rules.seed), in one transaction, recorded in the audit log.
`registry serve` and `registry migrate` call it; it loads only what is missing."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog import seed as catalog_seed
from app.rules import integrity as rules_integrity
from app.rules import seed as rules_seed

SEED_LOCK_KEY = 0x7365656463617461  # "seedcata"


@dataclass(frozen=True)
class LoadResult:
    loaded: bool
    counts: dict[str, int]


def load_seed_catalog(session: Session, actor: str = "system") -> LoadResult:
    """Load what is missing: plans, domains, agencies and assignments when there are no plans; the
    measures and default rules when there are no measures (databases seeded before they existed)."""
    if session.get_bind().dialect.name == "postgresql":
        # Instances starting together: one loads, the others then find the catalog there.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
    counts: dict[str, int] = {}
    found = rules_integrity.rules_digest(session)
    seed = catalog_seed.read_seed_catalog()
    if not catalog_seed.has_plans(session):
        counts |= catalog_seed.load_plans(session, seed)
    if not rules_seed.has_measures(session):
        counts |= rules_seed.load_seed_measures_and_rules(session, seed)
    if not counts:
        # A registry whose rules last changed before digests were kept: the baseline from now on.
        rules_integrity.ensure_rules_baseline(session, actor)
        return LoadResult(False, {})
    payload = {"counts": counts} | rules_integrity.digests(found, session)
    audit.append(session, actor, [audit.Event("catalog.loaded", "catalog", "seed", payload)])
    session.flush()
    return LoadResult(True, counts)
