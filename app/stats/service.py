"""Evaluation figures per domain and agency (进展评估报告): what was listed, exited, disputed, late.

Lead units must report progress on their domains; administrators see every domain.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.auth.scopes import Scope
from app.auth.service import Principal
from app.cases.models import Case
from app.catalog.models import Assignment
from app.checks.models import Check
from app.errors import Forbidden, ValidationFailed
from app.kit.clock import CHINA, china_today
from app.records.history import end_of_day
from app.records.models import Record


@dataclass
class Row:
    domain: str
    agency: str
    listed: int = 0
    late_disclosures: int = 0
    exited: dict[str, int] = field(default_factory=lambda: {"expired": 0, "repaired": 0, "revoked": 0})
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
    query = select(Assignment.domain_code)
    if plan is not None:
        query = query.where(Assignment.plan_code == plan)
        if not session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.plan_code == plan)
        ):
            # A filter naming no plan is bad input, not a missing resource: the path is /v1/stats.
            raise ValidationFailed.one(
                "plan", f"no plan {plan!r}; the plans are listed under /v1/domains/{{code}}"
            )
    if not principal.has(Scope.admin):
        query = query.where(Assignment.agency_code == principal.agency_code, Assignment.role == "lead")
    domains = set(session.scalars(query))
    if not domains and not principal.has(Scope.admin):
        raise Forbidden("statistics are for administrators and the lead units of a domain")
    return domains


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

    in_scope = Record.domain_code.in_(domains)
    listed = session.execute(
        select(
            Record.domain_code,
            Record.agency_code,
            func.count(),
            func.sum(case((Record.late_disclosure.is_(True), 1), else_=0)),
        )
        .where(in_scope, Record.received_at >= since, Record.received_at < until)
        .group_by(Record.domain_code, Record.agency_code)
    )
    for domain, agency, count, late in listed:
        row(domain, agency).listed = count
        row(domain, agency).late_disclosures = int(late or 0)

    exits = session.execute(
        select(Record.domain_code, Record.agency_code, Record.status, func.count())
        .where(in_scope, Record.exited_at >= since, Record.exited_at < until)
        .group_by(Record.domain_code, Record.agency_code, Record.status)
    )
    for domain, agency, status, count in exits:
        row(domain, agency).exited[status] = count

    cases = session.execute(
        select(Record.domain_code, Record.agency_code, Case.kind, Case.status, func.count())
        .join(Record, and_(Record.id == Case.record_id))
        .where(in_scope, Case.submitted_at >= since, Case.submitted_at < until)
        .group_by(Record.domain_code, Record.agency_code, Case.kind, Case.status)
    )
    for domain, agency, kind, status, count in cases:
        target = row(domain, agency).repairs if kind == "repair" else row(domain, agency).objections
        target[status] = target.get(status, 0) + count

    checked_domain: Any = Check.decisive_domain.in_(domains)
    if principal.has(Scope.admin) and plan is None:
        checked_domain = or_(checked_domain, Check.decisive_domain.is_(None))
    checks = session.execute(
        select(Check.decisive_domain, Check.agency_code, Check.decision, func.count())
        .where(checked_domain, Check.checked_at >= since, Check.checked_at < until)
        .group_by(Check.decisive_domain, Check.agency_code, Check.decision)
    )
    for domain, agency, decision, count in checks:
        row(domain or "", agency).checks[decision] = count

    ordered = [rows[key] for key in sorted(rows)]
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
