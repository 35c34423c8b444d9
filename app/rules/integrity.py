"""The measures and rules tables held against the digests their changes recorded.

The rules in force decide every check: a rule's effect or a measure's legal basis changed behind
the registry's back (an UPDATE in SQL) changes signed decisions. Every change through the registry
(a measure added, a rule created, replaced or retired, the seed catalog loaded) records in its audit
entry a digest of both tables as it found them and as it leaves them. Verification walks those
entries in order: each must have found the tables as the one before left them (a change made
outside the registry between two changes shows there, however many changes came after), and the
last one must have left them as they stand. A registry whose log holds no digest yet (its rules last
changed before digests were kept) records one at its next start (`ensure_rules_baseline`): from then
on, any change made outside the registry shows.
"""

import hashlib
from typing import cast

import orjson
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.rules.models import Measure, Rule

DIGEST_KEY = "rules_digest"  # the tables as the change left them
FOUND_KEY = "rules_digest_found"  # the tables as the change found them
# The audit entries that record the digest: a measure's, a rule's, the seed catalog's, a baseline's.
_RECORDED_BY = ("measure", "rule", "catalog", "rules")
# The columns digested: named, so that a migration adding a column does not change every digest
# recorded before it (a column added here starts a new digest: record a baseline with it).
_COLUMNS = {
    cast(Table, Measure.__table__): (
        "code", "name_zh", "name_en", "kind", "actions", "legal_basis", "implementing_agency", "source",
        "created_at",
    ),
    cast(Table, Rule.__table__): (
        "id", "rule_id", "version", "domain_code", "list_type", "min_severity", "measure_code", "effect",
        "applies_to", "effective_from", "effective_to", "legal_basis", "source", "created_at",
        "created_by", "closed_at", "closed_reason",
    ),
}  # fmt: skip


def rules_digest(session: Session) -> str:
    """SHA-256 over every row of the measures and rules tables, in primary-key order, as the
    database gives them back."""
    digest = hashlib.sha256()
    connection = session.connection()
    for table, columns in _COLUMNS.items():
        digest.update(table.name.encode())
        query = select(*(table.c[name] for name in columns)).order_by(*table.primary_key.columns)
        for row in connection.execute(query):
            digest.update(orjson.dumps(tuple(row), default=str))
    return digest.hexdigest()


def digests(found: str, session: Session) -> dict[str, str]:
    """What a change records: the digest it found (taken before it changed anything) and the one it
    leaves."""
    return {FOUND_KEY: found, DIGEST_KEY: rules_digest(session)}


def _recorded_digest(session: Session) -> str | None:
    """The newest digest recorded (rules change seldom: their entries are few)."""
    recorded = audit.entries_holding(session, DIGEST_KEY, _RECORDED_BY)
    return str(recorded[-1][1][DIGEST_KEY]) if recorded else None


def altered_rules(session: Session) -> str | None:
    """Why the measures and rules differ from what the log recorded of them; None when every change
    found them as the one before left them and the last left them as they stand (or nothing was
    recorded yet)."""
    left: str | None = None
    for seq, payload in audit.entries_holding(session, DIGEST_KEY, _RECORDED_BY):
        found = payload.get(FOUND_KEY)
        if left is not None and found is not None and found != left:
            return (
                f"the measures or rules were changed outside the registry before audit entry {seq}: it "
                "found them other than the change before it left them"
            )
        left = str(payload[DIGEST_KEY])
    if left is None or left == rules_digest(session):
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
