"""Evaluation figures per domain and agency (进展评估报告): what was listed, exited, disputed, late.

Lead units must report progress on their domains; administrators see every domain.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from app.auth.scopes import Scope
from app.auth.service import Principal
from app.cases import service as cases
from app.catalog import service as catalog
from app.checks import service as checks
from app.errors import Forbidden, ValidationFailed
from app.kit.clock import CHINA, china_today, end_of_day
from app.records import repository as records


@dataclass
class Row:
    domain: str
    agency: str
    listed: int = 0
    late_disclosures: int = 0
    # Exits by how they came: the period ended, repaired, revoked (the listing was wrong), or exited
    # (a court listing whose debt was performed or settled: 法释〔2017〕7号 第十条).
    exited: dict[str, int] = field(
        default_factory=lambda: {"expired": 0, "repaired": 0, "revoked": 0, "exited": 0}
    )
    repairs: dict[str, int] = field(default_factory=lambda: {"submitted": 0, "approved": 0, "rejected": 0})
    objections: dict[str, int] = field(
        default_factory=lambda: {"submitted": 0, "corrected": 0, "revoked": 0, "dismissed": 0}
    )
    # Approver checks by decision, under the domain of the record behind the decision and the
    # approver's agency (a clear check has no domain: "" in the administrators' report).
    checks: dict[str, int] = field(
        default_factory=lambda: {
            d: 0 for d in ("prohibit", "restrict", "strict_review", "incentive", "clear")
        }
    )


def _visible_domains(session: Session, principal: Principal, plan: str | None) -> set[str]:
    if plan is not None and not catalog.plan_exists(session, plan):
        # A filter naming no plan is bad input, not a missing resource: the path is /v1/stats.
        raise ValidationFailed.one(
            "plan", f"no plan {plan!r}; the plans are listed under /v1/domains/{{code}}"
        )
    lead = None if principal.has(Scope.admin) else principal.agency_code
    domains = catalog.assigned_domains(session, plan=plan, lead_agency=lead)
    if not domains and not principal.has(Scope.admin):
        raise Forbidden("statistics are for administrators and the lead units of a domain")
    return domains


def _agencies_within_reach(session: Session, principal: Principal) -> set[str] | None:
    """The agencies whose figures the caller reads: every one (None) for administrators and national
    lead units; a city's lead unit, those of its own city (it oversees its city's implementation
    of the plan it leads in, not the national agencies' work)."""
    if principal.has(Scope.admin):
        return None
    agencies = catalog.list_agencies(session)
    own = next((agency.jurisdiction for agency in agencies if agency.code == principal.agency_code), None)
    if own in (None, "national"):
        return None
    return {agency.code for agency in agencies if agency.jurisdiction == own}


def statistics(
    session: Session, principal: Principal, plan: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    end = end or china_today()
    start = start or date(end.year, 1, 1)
    if start > end:
        raise ValidationFailed.one("from", f"{start} is after {end}")
    domains = _visible_domains(session, principal, plan)
    since = datetime.combine(start, time.min, tzinfo=CHINA)
    until = end_of_day(end)
    rows: dict[tuple[str, str], Row] = {}

    def row(domain: str, agency: str) -> Row:
        return rows.setdefault((domain, agency), Row(domain, agency))

    for domain, agency, count, late in records.listing_counts(session, domains, since, until):
        row(domain, agency).listed = count
        row(domain, agency).late_disclosures = late
    for domain, agency, status, count in records.exit_counts(session, domains, since, until):
        row(domain, agency).exited[status] = count
    for domain, agency, kind, status, count in cases.case_counts(session, domains, since, until):
        target = row(domain, agency).repairs if kind == "repair" else row(domain, agency).objections
        target[status] = target.get(status, 0) + count
    with_clear = principal.has(Scope.admin) and plan is None
    for decisive, approver, decision, count in checks.decision_counts(
        session, domains, since, until, with_clear
    ):
        row(decisive or "", approver).checks[decision] = count

    reach = _agencies_within_reach(session, principal)
    ordered = [rows[key] for key in sorted(rows) if reach is None or key[1] in reach]
    return {
        "plan": plan,
        "from": start,
        "to": end,
        "rows": [_as_dict(r) for r in ordered],
        "totals": _totals(ordered),
    }


def _as_dict(row: Row) -> dict[str, Any]:
    return {
        "domain": row.domain,
        "agency": row.agency,
        "listed": row.listed,
        "late_disclosures": row.late_disclosures,
        "exited": row.exited,
        "repairs": row.repairs,
        "objections": row.objections,
        "checks": row.checks,
    }


def _totals(rows: Iterable[Row]) -> dict[str, Any]:
    totals: dict[str, Any] = {"listed": 0, "late_disclosures": 0}
    nested: dict[str, defaultdict[str, int]] = {
        k: defaultdict(int) for k in ("exited", "repairs", "objections", "checks")
    }
    for row in rows:
        totals["listed"] += row.listed
        totals["late_disclosures"] += row.late_disclosures
        for name, counts in (
            ("exited", row.exited),
            ("repairs", row.repairs),
            ("objections", row.objections),
            ("checks", row.checks),
        ):
            for key, value in counts.items():
                nested[name][key] += value
    return totals | {name: dict(counts) for name, counts in nested.items()}


def as_csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One line per domain and agency, nested counts flattened into columns."""
    header = ["domain", "agency", "listed", "late_disclosures"]
    nested = ("exited", "repairs", "objections", "checks")
    keys = {name: sorted({k for r in report["rows"] for k in r[name]}) for name in nested}
    header += [f"{name}_{key}" for name in nested for key in keys[name]]
    lines: list[list[Any]] = [header]
    for r in report["rows"]:
        line = [r["domain"], r["agency"], r["listed"], r["late_disclosures"]]
        line += [r[name].get(key, 0) for name in nested for key in keys[name]]
        lines.append(line)
    return lines
