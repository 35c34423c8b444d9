"""How long a record is published, by severity (and by domain where the rules differ).

国办发〔2025〕22号 and NDRC Order No. 36 (in force 2026-04-01): minor lapses are not published by
default and at most 3 months if published; general: at least 3 months, at most 1 year; serious: at
least 1 year, at most 3 years; publication stops by itself at the maximum. Court dishonest-debtor
listings (法释〔2017〕7号 第二条): 2 years, extendable by 1–3 years; on the first ground (able but
refusing to perform) no fixed end: listed until performed. Red lists (守信红名单) are valid as long as
their designating agency decides, within RED's bounds, not the black list's by severity. The period
counts from the decision date; `publicity_end` is the last day a record is published.
"""

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog import service as catalog
from app.errors import NotFound, ValidationFailed
from app.kit.clock import add_months, utcnow
from app.records.models import PublicityOverride


@dataclass(frozen=True)
class PublicityPolicy:
    shortest_months: int  # publicity_end may not come earlier (0: any day after the decision)
    default_months: int  # publicity_end when the agency gives none: the maximum, where publication stops
    longest_months: int
    repair_after_months: int  # credit repair may be applied for once this much has passed

    def default_end(self, decision_date: date) -> date:
        return add_months(decision_date, self.default_months)

    def bounds(self, decision_date: date) -> tuple[date, date]:
        return add_months(decision_date, self.shortest_months), add_months(decision_date, self.longest_months)


BY_SEVERITY = {
    "minor": PublicityPolicy(shortest_months=0, default_months=3, longest_months=3, repair_after_months=0),
    "general": PublicityPolicy(
        shortest_months=3, default_months=12, longest_months=12, repair_after_months=3
    ),
    "serious": PublicityPolicy(
        shortest_months=12, default_months=36, longest_months=36, repair_after_months=12
    ),
}
# Domain rules that replace the severity table for every severity in that domain.
BY_DOMAIN = {
    "court_judgments": PublicityPolicy(
        shortest_months=24, default_months=24, longest_months=60, repair_after_months=0
    ),
}


# Red lists: the agency sets the validity; the registry's default when it does not, and a ceiling
# (a listing that would outlive any review of the conduct behind it is not an honest incentive).
RED = PublicityPolicy(shortest_months=0, default_months=36, longest_months=60, repair_after_months=0)


def default_policy(domain: str, severity: str, list_type: str = "black") -> PublicityPolicy:
    if list_type == "red":
        return RED
    return BY_DOMAIN.get(domain) or BY_SEVERITY[severity]


class PublicityRules:
    """The defaults above, with the administrator's overrides per (domain, severity) on top."""

    def __init__(self, overrides: dict[tuple[str, str], PublicityPolicy] | None = None) -> None:
        self.overrides = overrides or {}

    def policy_for(self, domain: str, severity: str, list_type: str = "black") -> PublicityPolicy:
        """The periods of a record; administrators' overrides are for the black and focus lists."""
        if list_type == "red":
            return RED
        return self.overrides.get((domain, severity)) or default_policy(domain, severity)


def publicity_rules(session: Session) -> PublicityRules:
    overrides = {
        (row.domain_code, row.severity): PublicityPolicy(
            row.shortest_months, row.default_months, row.longest_months, row.repair_after_months
        )
        for row in session.scalars(select(PublicityOverride))
    }
    return PublicityRules(overrides)


def publicity_table(session: Session) -> list[dict[str, Any]]:
    rules = publicity_rules(session)
    rows = []
    for domain in sorted(catalog.domain_codes(session)):
        for severity in ("minor", "general", "serious"):
            policy = rules.policy_for(domain, severity)
            source = "administrator" if (domain, severity) in rules.overrides else "default"
            rows.append({"domain": domain, "severity": severity, "source": source} | asdict(policy))
    return rows


def set_publicity(
    session: Session, actor: str, domain: str, severity: str, policy: PublicityPolicy | None
) -> dict[str, Any]:
    """Set (or, with None, remove) the administrator's periods for one domain and severity."""
    if domain not in catalog.domain_codes(session):
        raise NotFound(f"no domain {domain!r}")
    if policy is not None and not (
        policy.shortest_months <= policy.default_months <= policy.longest_months
        and policy.repair_after_months <= policy.longest_months
    ):
        raise ValidationFailed.one(
            "body", "need shortest <= default <= longest, and repair_after no later than longest"
        )
    row = session.get(PublicityOverride, (domain, severity))
    if row is not None:
        session.delete(row)
        session.flush()
    if policy is not None:
        session.add(
            PublicityOverride(domain_code=domain, severity=severity, updated_at=utcnow(), **asdict(policy))
        )
        session.flush()
    payload = {"severity": severity, "policy": asdict(policy) if policy else None}
    audit.append(session, actor, [audit.Event("publicity.set", "publicity", domain, payload)])
    return next(r for r in publicity_table(session) if r["domain"] == domain and r["severity"] == severity)
