"""The decision engine: pure functions from what the registry knows about a subject on a day, and the
rules in force that day, to the decision an approver gets. No database, no clock, no signing.

A rule applies to a record in force when it names the record's domain (or every domain), its list,
at most its severity, and a measure bearing on the action. The decision is the strongest effect
among the punishments that apply (prohibit > restrict > strict_review); `incentive` when only
incentives apply; `clear` otherwise. 联合奖惩 (国发〔2016〕33号): any punishment withholds the
incentives. Records under objection keep applying and are flagged (DOMAIN.md, record lifecycle).

A black or focus record in force makes the decision at least `strict_review`, even where no rule
names a measure for its domain (API.md, second release: an approver never gets `clear` for a listed
subject; 枣文明委〔2019〕2号 四、2: 从严审核许可事项 for 违法失信者).

Every record in force is in the answer. Another agency's `restricted` record shows its domain, list
and the measures it triggers, not the document behind it (国办发〔2020〕49号: information told
"within a limited circle", strict query permissions).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from app.rules.schemas import EFFECT_RANK
from app.rules.service import RuleSet

LISTED = ("black", "focus")
FLOOR = "strict_review"


class InForce(NamedTuple):
    """A record in force for a subject on the day asked (its id in text form, as answers carry it)."""

    id: str
    agency_code: str
    domain: str
    list_type: str
    severity: str
    status: str
    decision_no: str
    decision_date: date
    publicity_end: date | None
    under_objection: bool
    version: int
    visibility: str
    # A record of an organisation that names the checked subject behind it: the subject's role
    # (legal representative, principal...) and the organisation. None for the subject's own records.
    via_role: str | None = None
    via_identifier: str | None = None
    via_name: str | None = None

    @property
    def reaches(self) -> str:
        """Whom the record's rules must reach to bear on the checked subject: it, or related parties."""
        return "subject" if self.via_role is None else "related"


@dataclass
class Facts:
    """A subject and its records in force on a day. What every check of the subject shares is worked
    out once, on first use (a batch may ask about one subject many times)."""

    subject: dict[str, Any]
    records: list[InForce] = field(default_factory=list)
    _kinds: tuple[tuple[str, str, str, str], ...] | None = field(default=None, init=False, repr=False)
    _state: str | None = field(default=None, init=False, repr=False)

    @property
    def kinds(self) -> tuple[tuple[str, str, str, str], ...]:
        """(domain, list, severity, reaches) of each record, in order: what the decision depends on."""
        if self._kinds is None:
            self._kinds = tuple((r.domain, r.list_type, r.severity, r.reaches) for r in self.records)
        return self._kinds

    def state_digest(self, rule_set: RuleSet) -> str:
        """What the decision rests on: the rule versions in force and the subject's records in force
        (the version and dispute flag of each), so a later reader can tell whether anything changed."""
        if not self.records:
            return rule_set.empty_digest
        if self._state is None:
            self._state = "\n".join(
                sorted(f"{r.id}:{r.version}:{int(r.under_objection)}" for r in self.records)
            )
        return hashlib.sha256(f"{rule_set.digest}\n{self._state}".encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    """The decision for one shape of case: an action and the kinds of the records in force, in order.
    Records enter by position, so one plan serves every subject whose records are of the same kinds
    (there are few kinds; a batch has thousands of subjects)."""

    decision: str
    decisive_domain: str | None
    # (the measure entry without its record ids, positions of the records that trigger it)
    punishments: tuple[tuple[dict[str, Any], tuple[int, ...]], ...]
    incentives: tuple[tuple[dict[str, Any], tuple[int, ...]], ...]
    withheld: list[str]
    # The measure codes each record triggers, by position.
    measures_of: tuple[tuple[str, ...], ...]


def plan(action: str, kinds: tuple[tuple[str, str, str, str], ...], rule_set: RuleSet) -> Plan:
    applied: dict[str, dict[str, Any]] = {}
    positions: dict[str, list[int]] = {}
    domains: dict[str, str] = {}
    measures_of: list[list[str]] = [[] for _ in kinds]
    for index, (domain, list_type, severity, reaches) in enumerate(kinds):
        for rule in rule_set.matching(action, domain, list_type, severity, reaches):
            entry = applied.get(rule.measure)
            if entry is None:
                entry = applied[rule.measure] = {
                    "code": rule.measure,
                    "name_zh": rule.measure_name_zh,
                    "kind": rule.kind,
                    "effect": rule.effect,
                    "legal_basis": rule.legal_basis,
                    "rules": [],
                }
                positions[rule.measure] = []
                domains[rule.measure] = domain
            elif EFFECT_RANK[rule.effect] > EFFECT_RANK[entry["effect"]]:
                entry["effect"] = rule.effect
                domains[rule.measure] = domain
            if rule.legal_basis not in entry["legal_basis"]:
                entry["legal_basis"] += "；" + rule.legal_basis
            reference = {"id": rule.rule_id, "version": rule.version}
            if reference not in entry["rules"]:
                entry["rules"].append(reference)
            if index not in positions[rule.measure]:
                positions[rule.measure].append(index)
            if rule.measure not in measures_of[index]:
                measures_of[index].append(rule.measure)

    def strongest_first(entry: dict[str, Any]) -> tuple[int, str]:
        return (-EFFECT_RANK[entry["effect"]], entry["code"])

    punishments = sorted((e for e in applied.values() if e["kind"] == "punishment"), key=strongest_first)
    incentives = sorted((e for e in applied.values() if e["kind"] == "incentive"), key=strongest_first)
    # The floor is for the subject's own listings: an organisation's record reaches the people behind it
    # only through the measures the rules extend to them.
    listed = next(
        (domain for domain, list_type, _, reaches in kinds if list_type in LISTED and reaches == "subject"),
        None,
    )
    withheld: list[str] = []
    if punishments and EFFECT_RANK[punishments[0]["effect"]] >= EFFECT_RANK[FLOOR]:
        decision, decisive_domain = punishments[0]["effect"], domains[punishments[0]["code"]]
    elif listed is not None:
        # A black or focus listing in force is at least a strict review (API.md), whatever a rule
        # says: a punishment whose effect reads "incentive" (changed behind the registry's back; the
        # API refuses to make one) never lets a listed subject through.
        decision, decisive_domain = FLOOR, listed
    elif incentives:
        decision, decisive_domain = "incentive", domains[incentives[0]["code"]]
    else:
        decision, decisive_domain = "clear", None
    if decision != "incentive" and incentives:
        withheld = [e["code"] for e in incentives]
        incentives = []
    return Plan(
        decision,
        decisive_domain,
        tuple((e, tuple(positions[e["code"]])) for e in punishments),
        tuple((e, tuple(positions[e["code"]])) for e in incentives),
        withheld,
        tuple(tuple(codes) for codes in measures_of),
    )


@dataclass
class Evaluation:
    decision: str
    measures: list[dict[str, Any]]
    incentives: list[dict[str, Any]]
    withheld: list[str]
    records: list[dict[str, Any]]  # every record in force, as this viewer may see it
    under_objection: bool  # a record behind the decision is disputed
    decisive_domain: str | None
    state_digest: str


@dataclass(frozen=True)
class Viewer:
    """Who asks: an agency sees the documents behind its own restricted records; administrators
    see every document."""

    agency_code: str
    sees_all: bool = False

    def sees_document(self, record: InForce) -> bool:
        return record.visibility != "restricted" or self.sees_all or record.agency_code == self.agency_code


def evaluate(
    facts: Facts | None,
    action: str,
    rule_set: RuleSet,
    viewer: Viewer,
    agency_names: dict[str, str],
) -> Evaluation:
    if facts is None or not facts.records:
        return Evaluation("clear", [], [], [], [], False, None, rule_set.empty_digest)
    key = (action, facts.kinds)
    decided = rule_set.plans.get(key)
    if decided is None:
        decided = rule_set.plans[key] = plan(action, facts.kinds, rule_set)
    records = facts.records
    shown = [viewer.sees_document(record) for record in records]

    def with_ids(entry: dict[str, Any], where: tuple[int, ...]) -> dict[str, Any]:
        visible = [i for i in where if shown[i]]
        via = [records[i].id for i in visible if records[i].via_role is not None]
        return entry | {
            "record_ids": [records[i].id for i in visible],
            "via_record_ids": via,
            "via_record_id": via[0] if via else None,
        }

    # A red record is suspended while a black record of the subject is in force (DOMAIN.md, second
    # release): no incentive comes of it, and it is shown as such.
    suspended = any(record.list_type == "black" and record.via_role is None for record in records)
    triggering = {i for _, where in decided.punishments for i in where}
    if not decided.punishments:
        triggering = {
            i for i, record in enumerate(records) if record.list_type in LISTED and record.via_role is None
        }
    return Evaluation(
        decided.decision,
        [with_ids(entry, where) for entry, where in decided.punishments],
        [with_ids(entry, where) for entry, where in decided.incentives],
        decided.withheld,
        [
            record_view(record, decided.measures_of[i], agency_names, shown[i])
            | ({"suspended": True} if suspended and record.list_type == "red" else {})
            for i, record in enumerate(records)
        ],
        any(records[i].under_objection for i in triggering),
        decided.decisive_domain,
        facts.state_digest(rule_set),
    )


def subject_view(facts: Facts, viewer: Viewer) -> dict[str, Any]:
    """The subject as the answer names it. Its name is shown only beside a record in force the viewer
    sees in full: the name may be one only another agency's restricted record carries, in force or
    no longer (revoked, or not yet pushed on an as-of day), and such a record shows domain, list
    type and measure only (API.md, second release)."""
    if not any(viewer.sees_document(record) for record in facts.records):
        return facts.subject | {"name": None}
    return facts.subject


def record_view(
    record: InForce, measures: tuple[str, ...], agency_names: dict[str, str], document: bool
) -> dict[str, Any]:
    """A record in force as a check answer shows it; without the document, the measure only."""
    view = _document_view(record, measures, agency_names, document)
    if record.via_role is not None:
        # How the record reaches the checked person: through the organisation it names them behind.
        organisation = {"identifier": record.via_identifier, "name": record.via_name} if document else None
        view["via"] = {"role": record.via_role, "organisation": organisation}
    return view


def _document_view(
    record: InForce, measures: tuple[str, ...], agency_names: dict[str, str], document: bool
) -> dict[str, Any]:
    if not document:
        return {
            "id": None,
            "domain": record.domain,
            "list_type": record.list_type,
            "severity": None,
            "status": record.status,
            "visibility": "restricted",
            "designating_agency": None,
            "decision_no": None,
            "decision_date": None,
            "publicity_end": None,
            "under_objection": None,
            "measures": list(measures),
        }
    return {
        "id": record.id,
        "domain": record.domain,
        "list_type": record.list_type,
        "severity": record.severity,
        "status": record.status,
        "visibility": record.visibility,
        "designating_agency": {
            "code": record.agency_code,
            "name_zh": agency_names.get(record.agency_code, record.agency_code),
        },
        "decision_no": record.decision_no,
        "decision_date": record.decision_date.isoformat(),
        "publicity_end": record.publicity_end.isoformat() if record.publicity_end else None,
        "under_objection": record.under_objection,
        "measures": list(measures),
    }


def facts_from_rows(rows: Any, width: int) -> dict[str, Facts]:
    """Subjects by identifier from rows of records.repository's in-force reads: `width` subject
    columns (id, kind, name, identifier type, identifier), then a record's (None: no record)."""
    found: dict[str, Facts] = {}
    identifier_at = width - 1
    for row in rows:
        identifier = row[identifier_at]
        facts = found.get(identifier)
        if facts is None:
            facts = found[identifier] = Facts(
                {
                    "id": str(row[0]),
                    "kind": row[1],
                    "name": row[2],
                    "identifier_type": row[3],
                    "identifier": identifier,
                }
            )
        if row[width] is not None:
            facts.records.append(InForce(str(row[width]), *row[width + 1 :]))
    for facts in found.values():  # own records first, then those reaching through organisations
        facts.records.sort(key=lambda r: (r.via_role is not None, r.decision_date, r.id))
    return found
