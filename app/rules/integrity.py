"""The measures and rules tables held against the digest their last change recorded.

The rules in force decide every check: a rule's effect or a measure's legal basis changed behind
the registry's back (an UPDATE in SQL) changes signed decisions. Every change through the registry
(a measure added, a rule created, replaced or retired, the seed catalog loaded) records in its audit
entry a digest of both tables as they stand after it; verification recomputes the digest and holds
it against the newest one recorded. A registry whose log holds no digest yet (its rules last changed
before digests were kept) gets one at its next start (`ensure_rules_baseline`): from then on, any
change made outside the registry shows.
"""

import hashlib
from typing import cast

import orjson
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.rules.models import Measure, Rule

DIGEST_KEY = "rules_digest"
# The audit entries that record the digest: a measure's, a rule's, the seed catalog's, a baseline's.
_RECORDED_BY = ("measure", "rule", "catalog", "rules")
_TABLES = (cast(Table, Measure.__table__), cast(Table, Rule.__table__))


def rules_digest(session: Session) -> str:
    """SHA-256 over every row of the measures and rules tables, in primary-key order, as the
    database gives them back."""
    digest = hashlib.sha256()
    connection = session.connection()
    for table in _TABLES:
        digest.update(table.name.encode())
        for row in connection.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(orjson.dumps(tuple(row), default=str))
    return digest.hexdigest()


def _recorded_digest(session: Session) -> str | None:
    recorded = audit.latest_value(session, DIGEST_KEY, _RECORDED_BY)
    return str(recorded) if recorded is not None else None


def altered_rules(session: Session) -> str | None:
    """Why the measures and rules differ from what the log last recorded of them; None when they
    match (or nothing was recorded yet)."""
    recorded = _recorded_digest(session)
    if recorded is None or recorded == rules_digest(session):
        return None
    return (
        "the measures or rules differ from what the audit log last recorded of them: a row was changed, "
        "added or removed outside the registry"
    )


def ensure_rules_baseline(session: Session, actor: str) -> bool:
    """Record the tables' digest once, in a registry whose log holds none yet; whether it did."""
    if _recorded_digest(session) is not None:
        return False
    event = audit.Event("rules.baseline", "rules", "all", {DIGEST_KEY: rules_digest(session)})
    audit.append(session, actor, [event])
    return True
