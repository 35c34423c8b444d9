"""Maintaining measures and versioned rules, and the rule set in force on a given day.

The rule set a check evaluates is cached per day in each process: rules change rarely and checks are
the hot path. A change here empties this process's cache when its transaction commits; other worker
processes reload within RULESET_TTL_SECONDS.
"""

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalog import service as catalog
from app.db import serialize_writers
from app.errors import NotFound, ValidationFailed
from app.kit.clock import china_today, utcnow
from app.rules.errors import MeasureExists, RuleOverlap, RuleRetired
from app.rules.integrity import digests, rules_digest
from app.rules.models import Measure, Rule
from app.rules.schemas import (
    ACTIONS,
    EFFECT_RANK,
    LIST_TYPES,
    SEVERITIES,
    SEVERITY_RANK,
    MeasureIn,
    MeasureOut,
    RuleIn,
    RuleOut,
)

RULESET_TTL_SECONDS = 2.0


# --- measures --------------------------------------------------------------------------------------


def list_measures(session: Session) -> list[Measure]:
    return list(session.scalars(select(Measure).order_by(Measure.kind.desc(), Measure.code)))


def _one_change_at_a_time(session: Session) -> None:
    """Changes to measures and rules one after another (the writers' lock, held to commit): the
    overlap guard sees every committed rule, and the digest each change records (app.rules.integrity)
    is of the tables as that change leaves them."""
    serialize_writers(session)


def create_measure(session: Session, actor: str, body: MeasureIn) -> Measure:
    _one_change_at_a_time(session)
    found = rules_digest(session)
    if session.get(Measure, body.code) is not None:
        raise MeasureExists(f"a measure with code {body.code!r} already exists")
    values = body.model_dump()
    values["actions"] = list(dict.fromkeys(values["actions"]))
    measure = Measure(**values, created_at=utcnow())
    session.add(measure)
    session.flush()
    payload = MeasureOut.model_validate(measure).model_dump() | digests(found, session)
    audit.append(session, actor, [audit.Event("measure.created", "measure", body.code, payload)])
    _invalidate_on_commit(session)
    return measure


# --- rules -----------------------------------------------------------------------------------------


def _in_force_on(day: date) -> Any:
    return (Rule.effective_from <= day) & (Rule.effective_to.is_(None) | (Rule.effective_to >= day))


def _applies_on_or_after(day: date) -> Any:
    """Versions in force on `day` or later: not ended before it, and not retired before they began
    (such a version ends the day before its first: it never applied)."""
    return Rule.effective_to.is_(None) | (
        (Rule.effective_to >= day) & (Rule.effective_to >= Rule.effective_from)
    )


def list_rules(session: Session, domain: str | None, as_of: date | None) -> list[Rule]:
    """Rules as of a day (the versions in force then), or, without a day, the versions in force today
    and those that take effect later (a version replaced from a later day included until then)."""
    query = select(Rule)
    if domain is not None:
        if domain not in catalog.domain_codes(session):
            raise ValidationFailed.one("domain", f"unknown domain {domain!r}; the codes are at /v1/domains")
        # A rule for every domain applies to this one too.
        query = query.where(or_(Rule.domain_code == domain, Rule.domain_code.is_(None)))
    if as_of is not None:
        query = query.where(_in_force_on(as_of))
    else:
        query = query.where(_applies_on_or_after(china_today()))
    order = (Rule.domain_code.is_(None), Rule.domain_code, Rule.list_type, Rule.measure_code, Rule.version)
    return list(session.scalars(query.order_by(*order)))


def rule_versions(session: Session, rule_id: uuid.UUID) -> list[Rule]:
    versions = list(session.scalars(select(Rule).where(Rule.rule_id == rule_id).order_by(Rule.version)))
    if not versions:
        raise NotFound(f"no rule {rule_id}")
    return versions


def _latest(session: Session, rule_id: uuid.UUID) -> Rule:
    rule = session.scalars(
        select(Rule).where(Rule.rule_id == rule_id).order_by(Rule.version.desc()).limit(1)
    ).first()
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    return rule


def _validate(session: Session, body: RuleIn, effective_from: date) -> Measure:
    """Every problem of a rule at once, each naming its field; the measure it names."""
    fields: list[dict[str, str]] = []
    if body.domain is not None and body.domain not in catalog.domain_codes(session):
        fields.append({"field": "domain", "detail": f"unknown domain {body.domain!r}; see /v1/domains"})
    measure = session.get(Measure, body.measure)
    if measure is None:
        fields.append({"field": "measure", "detail": f"unknown measure {body.measure!r}; see /v1/measures"})
    elif measure.kind == "incentive" and body.effect != "incentive":
        fields.append(
            {"field": "effect", "detail": f"{measure.code} is an incentive: effect must be incentive"}
        )
    elif measure.kind == "punishment" and body.effect == "incentive":
        fields.append(
            {
                "field": "effect",
                "detail": f"{measure.code} is a punishment: prohibit, restrict or strict_review",
            }
        )
    # 联合奖惩: incentives are for the red list, sanctions for the black and focus lists.
    if body.effect == "incentive" and body.list_type != "red":
        fields.append({"field": "list_type", "detail": "incentives apply to the red list only"})
    if body.effect != "incentive" and body.list_type == "red":
        fields.append(
            {"field": "list_type", "detail": "a red-listed entity is not punished for being listed"}
        )
    if body.effective_to is not None and body.effective_to < effective_from:
        fields.append(
            {
                "field": "effective_to",
                "detail": f"{body.effective_to} is before effective_from {effective_from}",
            }
        )
    if fields:
        raise ValidationFailed(fields)
    assert measure is not None
    return measure


def _refuse_the_past(start: date, today: date, what: str) -> None:
    """What was in force on a past day stays as it was: rules and their changes apply from today on
    (a check answered on that day, and its receipt, are re-answered alike with as_of)."""
    if start < today:
        raise ValidationFailed.one(
            "effective_from", f"{what} takes effect today ({today}) or later, not {start}"
        )


def _check_overlap(
    session: Session, body: RuleIn, start: date, end: date | None, except_rule: uuid.UUID | None
) -> None:
    """One rule per domain, list and measure at any time: two would make the answer ambiguous."""
    domain = Rule.domain_code.is_(None) if body.domain is None else Rule.domain_code == body.domain
    query = select(Rule).where(
        domain,
        Rule.list_type == body.list_type,
        Rule.measure_code == body.measure,
        Rule.applies_to == body.applies_to,
        # Every version still to apply, a replaced one running until its successor begins included.
        _applies_on_or_after(start),
    )
    if end is not None:
        query = query.where(Rule.effective_from <= end)
    if except_rule is not None:
        query = query.where(Rule.rule_id != except_rule)
    clash = session.scalars(query.limit(1)).first()
    if clash is not None:
        where = body.domain or "every domain"
        until = clash.effective_to or "open end"
        raise RuleOverlap(
            f"rule {clash.rule_id} (version {clash.version}) already applies {body.measure} to the "
            f"{body.list_type} list in {where} from {clash.effective_from} to {until}; "
            "change that rule (PUT) or retire it first"
        )


def _new_version(
    session: Session, actor: str, body: RuleIn, rule_id: uuid.UUID, version: int, start: date
) -> Rule:
    rule = Rule(
        id=uuid.uuid4(),
        rule_id=rule_id,
        version=version,
        domain_code=body.domain,
        list_type=body.list_type,
        min_severity=body.min_severity,
        measure_code=body.measure,
        effect=body.effect,
        applies_to=body.applies_to,
        effective_from=start,
        effective_to=body.effective_to,
        legal_basis=body.legal_basis,
        source=body.source,
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(rule)
    session.flush()
    return rule


def create_rule(session: Session, actor: str, body: RuleIn) -> Rule:
    _one_change_at_a_time(session)
    found = rules_digest(session)
    today = china_today()
    start = body.effective_from or today
    _refuse_the_past(start, today, "a rule")
    _validate(session, body, start)
    _check_overlap(session, body, start, body.effective_to, None)
    rule = _new_version(session, actor, body, uuid.uuid4(), 1, start)
    payload = _payload(rule) | digests(found, session)
    audit.append(session, actor, [audit.Event("rule.created", "rule", str(rule.rule_id), payload)])
    _invalidate_on_commit(session)
    return rule


def replace_rule(session: Session, actor: str, rule_id: uuid.UUID, body: RuleIn) -> Rule:
    """A new version from its effective_from (today by default); the old one ends the day before."""
    _one_change_at_a_time(session)
    found = rules_digest(session)
    current = _latest(session, rule_id)
    if current.closed_reason == "retired":
        raise RuleRetired(f"rule {rule_id} was retired; create a new rule instead")
    today = china_today()
    start = body.effective_from or today
    _refuse_the_past(start, today, "a new version")
    _validate(session, body, start)
    _check_overlap(session, body, start, body.effective_to, rule_id)
    # Every version still running on or past the new one's first day ends the day before: the
    # latest, and an earlier one cut short only by a version yet to begin (v1 to 01-09, v2 from
    # 01-10, now v3 from 12-20: v1 ends 12-19 too, never two versions on one day).
    running = session.scalars(
        select(Rule).where(
            Rule.rule_id == rule_id, or_(Rule.effective_to.is_(None), Rule.effective_to >= start)
        )
    ).all()
    for version in running:
        version.effective_to = start - timedelta(days=1)
    current.closed_at, current.closed_reason = utcnow(), "replaced"
    session.flush()
    rule = _new_version(session, actor, body, rule_id, current.version + 1, start)
    payload = (
        _payload(rule)
        | {
            "replaces_version": current.version,
            "previous_to": current.effective_to,
        }
        | digests(found, session)
    )
    audit.append(session, actor, [audit.Event("rule.updated", "rule", str(rule_id), payload)])
    _invalidate_on_commit(session)
    return rule


def retire_rule(session: Session, actor: str, rule_id: uuid.UUID) -> Rule:
    """The rule stops applying from today on, every version of it (one replaced from a later day
    runs until then: it stops too); its versions stay for as-of answers."""
    _one_change_at_a_time(session)
    found = rules_digest(session)
    current = _latest(session, rule_id)
    today = china_today()
    still = session.scalars(select(Rule).where(Rule.rule_id == rule_id, _applies_on_or_after(today))).all()
    if current.closed_reason == "retired" or not still:
        raise RuleRetired(f"rule {rule_id} no longer applies (in force until {current.effective_to})")
    yesterday = today - timedelta(days=1)
    for version in still:
        # A version not yet in force ends the day before it would have begun: it never applied.
        version.effective_to = max(yesterday, version.effective_from - timedelta(days=1))
    current.closed_at, current.closed_reason = utcnow(), "retired"
    session.flush()
    payload = _payload(current) | digests(found, session)
    audit.append(session, actor, [audit.Event("rule.retired", "rule", str(rule_id), payload)])
    _invalidate_on_commit(session)
    return current


def _payload(rule: Rule) -> dict[str, Any]:
    out = RuleOut.model_validate(rule).model_dump()
    return {key: str(value) if value is not None else None for key, value in out.items()} | {
        "version": rule.version
    }


# --- the rule set a check evaluates ------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveRule:
    rule_id: str
    version: int
    domain: str | None
    list_type: str
    min_rank: int
    measure: str
    measure_name_zh: str
    kind: str  # punishment | incentive
    effect: str
    legal_basis: str
    reaches: str = "subject"  # subject | related (the people a record names behind its subject)

    def covers(self, domain: str, list_type: str, severity: str, reaches: str) -> bool:
        return (
            self.list_type == list_type
            and self.reaches == reaches
            and (self.domain is None or self.domain == domain)
            and SEVERITY_RANK.get(severity, 0) >= self.min_rank
        )


@dataclass(frozen=True)
class RuleSet:
    day: date
    # action -> the rules whose measure bears on it
    by_action: dict[str, tuple[ActiveRule, ...]] = field(default_factory=dict)
    # Names the exact rule versions in force, for receipts.
    digest: str = ""
    # The state digest of a subject with no record in force (receipts).
    empty_digest: str = ""
    _matching: dict[tuple[str, str, str, str, str], tuple[ActiveRule, ...]] = field(default_factory=dict)
    # The checks engine's memo of decisions by shape of case (app.checks.service._Plan).
    plans: dict[Any, Any] = field(default_factory=dict)

    def matching(
        self, action: str, domain: str, list_type: str, severity: str, reaches: str = "subject"
    ) -> tuple[ActiveRule, ...]:
        """The rules that apply to a record of this kind for this action, for its subject or for the
        people behind it (memoized: few kinds exist)."""
        key = (action, domain, list_type, severity, reaches)
        found = self._matching.get(key)
        if found is None:
            candidates = self.by_action.get(action, ())
            found = tuple(r for r in candidates if r.covers(domain, list_type, severity, reaches))
            self._matching[key] = found
        return found


_cache: dict[date, tuple[RuleSet, float, int]] = {}
_generation = 0
_lock = threading.Lock()


def invalidate_cache() -> None:
    global _generation
    with _lock:
        _generation += 1
        _cache.clear()


def _invalidate_on_commit(session: Session) -> None:
    invalidate_cache()
    event.listen(session, "after_commit", lambda _session: invalidate_cache(), once=True)


def cached_rule_set(day: date) -> RuleSet | None:
    """The rule set in force on `day` if this process has it cached and fresh, else None."""
    cached = _cache.get(day)
    if cached is not None and cached[2] == _generation and time.monotonic() - cached[1] < RULESET_TTL_SECONDS:
        return cached[0]
    return None


def cache_generation() -> int:
    """Bumped by every rule change this process commits: a rule set loaded in an older generation
    is not to be handed to a caller of a newer one."""
    return _generation


def rule_set(session: Session, day: date) -> RuleSet:
    cached = cached_rule_set(day)
    if cached is not None:
        return cached
    now = time.monotonic()
    generation = _generation
    loaded = _load_rule_set(session, day)
    with _lock:
        if generation == _generation:
            if len(_cache) > 64:
                _cache.clear()
            _cache[day] = (loaded, now, generation)
    return loaded


def fresh_rule_set(session: Session, day: date) -> RuleSet:
    """The rule set in force on `day` as this transaction sees it, bypassing (and not filling) the
    process's cache: what a change to the rules, not yet committed, makes of the decisions."""
    return _load_rule_set(session, day)


def _load_rule_set(session: Session, day: date) -> RuleSet:
    rows = session.execute(
        select(Rule, Measure).join(Measure, Measure.code == Rule.measure_code).where(_in_force_on(day))
    ).all()
    by_action: dict[str, list[ActiveRule]] = {}
    ids = []
    for rule, measure in rows:
        active = ActiveRule(
            rule_id=str(rule.rule_id),
            version=rule.version,
            domain=rule.domain_code,
            list_type=rule.list_type,
            min_rank=SEVERITY_RANK[rule.min_severity],
            measure=measure.code,
            measure_name_zh=measure.name_zh,
            kind=measure.kind,
            effect=rule.effect,
            legal_basis=rule.legal_basis,
            reaches=rule.applies_to,
        )
        ids.append(f"{rule.rule_id}:{rule.version}")
        for action in measure.actions:
            by_action.setdefault(action, []).append(active)
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
    empty = hashlib.sha256(digest.encode()).hexdigest()
    return RuleSet(day, {action: tuple(rules) for action, rules in by_action.items()}, digest, empty)


# --- coverage: does every kind of record lead to a measure? -------------------------------------------


def coverage(session: Session, day: date) -> dict[str, Any]:
    """For each domain, list and severity, the measures the rules in force on `day` attach to a record
    of that kind, with the actions they bear on; a kind that leads to none is `uncovered` (a listing
    must reach the approver with a measure and its legal basis: 国办发〔2020〕49号). Worked out with
    the rule set a check uses, so it answers as checks do."""
    rules = rule_set(session, day)
    items = []
    for domain in sorted(catalog.domain_codes(session)):
        for list_type in LIST_TYPES:
            for severity in SEVERITIES:
                measures = _measures_for(rules, domain, list_type, severity)
                items.append(
                    {
                        "domain": domain,
                        "list_type": list_type,
                        "severity": severity,
                        "uncovered": not measures,
                        "measures": measures,
                    }
                )
    uncovered = sum(1 for item in items if item["uncovered"])
    return {"as_of": day, "cells": len(items), "uncovered": uncovered, "items": items}


def _measures_for(rules: RuleSet, domain: str, list_type: str, severity: str) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for action in ACTIONS:
        for rule in rules.matching(action, domain, list_type, severity):
            entry = found.setdefault(
                rule.measure,
                {
                    "code": rule.measure,
                    "name_zh": rule.measure_name_zh,
                    "kind": rule.kind,
                    "effect": rule.effect,
                    "actions": [],
                    "rules": [],
                },
            )
            if EFFECT_RANK[rule.effect] > EFFECT_RANK[entry["effect"]]:
                entry["effect"] = rule.effect
            if action not in entry["actions"]:
                entry["actions"].append(action)
            reference = {"id": rule.rule_id, "version": rule.version}
            if reference not in entry["rules"]:
                entry["rules"].append(reference)
    # Strongest first, as a check lists them.
    return sorted(found.values(), key=lambda entry: (-EFFECT_RANK[entry["effect"]], entry["code"]))
