"""The decision engine: which measures apply to an entity for an action, on a day, and why.

A record applies when it is in force that day (active and within its publicity period; on a past
day as the audit history has it) and a rule in force that day ties its domain (or every domain),
list and at least its severity to a measure bearing on the action. The decision is the strongest
effect among the punishments that apply (prohibit > restrict > strict_review); `incentive` when only
incentives apply (联合奖惩: any punishment withholds the incentives); `clear` otherwise. Records under
objection keep applying and are flagged (DOMAIN.md, record lifecycle).

Hot path: one query for all identifiers of a batch, the rule set cached per day, what a subject's
checks share worked out once, receipts signed with `cryptography` directly over a hashlib digest (a
large batch's in a helper process, a chunk behind the answers), the rows streamed to the database
as they are answered (COPY on PostgreSQL), each with its receipt stored detached
(app.checks.receipts).
"""

import hashlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import Connection, Date, String, Text, and_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog.models import Agency
from app.checks import receipts
from app.checks.models import Check, CheckFeedback
from app.checks.schemas import CheckIn, FeedbackIn
from app.config import get_settings
from app.db import bulk_writer, column_in, new_id_texts, read_snapshot
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.kit.clock import china_today, utcnow
from app.records import history
from app.records.models import Record, Subject
from app.rules import service as rules
from app.rules.schemas import EFFECT_RANK


class FeedbackExists(Conflict):
    code = "feedback_exists"


class InForce(NamedTuple):
    """A record in force for a subject on the day asked (its id in text form, as answers carry it)."""

    id: str
    agency_code: str
    agency_name: str
    domain: str
    list_type: str
    severity: str
    status: str
    decision_no: str
    decision_date: date
    publicity_end: date
    under_objection: bool
    version: int


@dataclass
class Facts:
    """A subject and its records in force on a day. What every check of the subject shares is
    worked out once, on first use (a batch may ask about a subject many times)."""

    subject: dict[str, Any]
    records: list[InForce] = field(default_factory=list)
    _shared: "Shared | None" = field(default=None, init=False, repr=False)

    def shared(self) -> "Shared":
        if self._shared is None:
            records = self.records
            self._shared = Shared(
                tuple((r.domain, r.list_type, r.severity) for r in records),
                [_record_out(r) for r in records],
                "\n".join(sorted(f"{r.id}:{r.version}:{int(r.under_objection)}" for r in records)),
            )
        return self._shared

    def state_digest(self, rule_set: rules.RuleSet) -> str:
        """What the decision rests on: the rule versions and the subject's records in force (with
        the version and dispute flag of each), so a later reader can tell whether anything changed
        since."""
        if not self.records:
            return rule_set.empty_digest
        return hashlib.sha256(f"{rule_set.digest}\n{self.shared().state}".encode()).hexdigest()


class Shared(NamedTuple):
    kinds: tuple[tuple[str, str, str], ...]  # (domain, list, severity) of each record
    records_out: list[dict[str, Any]]  # each record as an answer shows it
    state: str  # id:version:disputed of each record, sorted, a line each


# --- reading what the registry knows ------------------------------------------------------------------

_SUBJECT_COLUMNS = (Subject.id, Subject.kind, Subject.name, Subject.identifier_type, Subject.identifier)
_RECORD_COLUMNS = (
    Record.id.label("record_id"),
    Record.agency_code,
    Agency.name_zh.label("agency_name"),
    Record.domain_code,
    Record.list_type,
    Record.severity,
    Record.status,
    Record.decision_no,
    Record.decision_date,
    Record.publicity_end,
    Record.under_objection,
    Record.version,
)


def _identifier_clause(session: Session, identifiers: list[str]) -> Any:
    if len(identifiers) == 1:
        return Subject.identifier == identifiers[0]
    return column_in(session, Subject.identifier, identifiers)


@lru_cache
def _facts_query(single: bool, text_ids: bool = False) -> Any:
    """Subjects with their records in force on :day, built once: constructing the statement costs
    more than running it on the single-check path. `single`: one :identifier; else :identifiers.
    `text_ids` (PostgreSQL): the subject's and records' ids as text, which is how answers carry
    them (the server's uuid::text spares a batch ~25,000 UUID objects made only to be printed)."""
    day = bindparam("day", type_=Date())
    in_force = and_(Record.status == "active", Record.publicity_start <= day, Record.publicity_end >= day)
    subject_columns: tuple[Any, ...] = _SUBJECT_COLUMNS
    record_columns: tuple[Any, ...] = _RECORD_COLUMNS
    if text_ids:
        subject_columns = (cast(Subject.id, Text).label("id"), *_SUBJECT_COLUMNS[1:])
        record_columns = (cast(Record.id, Text).label("record_id"), *_RECORD_COLUMNS[1:])
    query = (
        select(*subject_columns, *record_columns)
        .select_from(Subject)
        .outerjoin(Record, and_(Record.subject_id == Subject.id, in_force))
        .outerjoin(Agency, Agency.code == Record.agency_code)
    )
    if single:
        return query.where(Subject.identifier == bindparam("identifier"))
    if text_ids:  # PostgreSQL: one array, unnested into a semi-join (see app.db.column_in)
        identifiers = bindparam("identifiers", type_=ARRAY(String()))
        return query.where(Subject.identifier.in_(select(func.unnest(identifiers))))
    return query.where(Subject.identifier.in_(bindparam("identifiers", expanding=True)))


@lru_cache
def postgres_facts_statement(single: bool) -> tuple[str, dict[str, Any]]:
    """The facts query compiled for psycopg, once: its SQL and its parameters' defaults, to run on
    the driver's own cursor (plain tuples; SQLAlchemy's rows cost a batch more than the query's
    fetch). `single`: one %(identifier)s; else the %(identifiers)s array."""
    query = _facts_query(single, text_ids=True)
    compiled = query.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), dict(compiled.params)


def facts_today(connection: Connection, identifiers: list[str], day: date) -> dict[str, Facts]:
    """Subjects by identifier with their records in force on `day`, in one query."""
    if connection.dialect.name == "postgresql":
        single = len(identifiers) == 1
        sql, defaults = postgres_facts_statement(single)
        given = {"identifier": identifiers[0]} if single else {"identifiers": identifiers}
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(sql, defaults | given | {"day": day})
            return facts_from_rows(cursor.fetchall())
    single = len(identifiers) == 1
    given = {"identifier": identifiers[0]} if single else {"identifiers": identifiers}
    # One statement built once (an expanding IN), so SQLAlchemy's compiled and result caches serve
    # every call; Core rows by position, fetched at once: the ORM's (or a per-row fetch's) work
    # would cost more than the query on a batch.
    result = connection.execute(_facts_query(single), given | {"day": day})
    return facts_from_rows(result.all())


class FactsLookup(Protocol):
    """Facts by identifier, as the answering reads them: a dict, or facts being read ahead."""

    def get(self, identifier: str, /) -> "Facts | None": ...


class _ReadAhead:
    def __init__(self, read_of: dict[str, "Future[dict[str, Facts]]"]) -> None:
        self.read_of = read_of

    def get(self, identifier: str, /) -> "Facts | None":
        read = self.read_of.get(identifier)
        return None if read is None else read.result().get(identifier)


# A batch asking about more subjects than this reads them ahead, this many at a time (below).
READ_AHEAD = 2500


@contextmanager
def facts_read_ahead(identifiers: list[str], day: date) -> Iterator[FactsLookup]:
    """Today's facts of many identifiers, read READ_AHEAD at a time in the order given (the order
    the batch first asks for them), on a connection of their own in a worker thread and from one
    snapshot, so that the database reads the next ones while the batch answers these. Its `get`
    waits for the read that holds the identifier; a failed read fails it."""
    chunks = [identifiers[start : start + READ_AHEAD] for start in range(0, len(identifiers), READ_AHEAD)]
    reads: list[Future[dict[str, Facts]]] = [Future() for _ in chunks]
    stop = threading.Event()

    def read_all() -> None:
        try:
            with read_snapshot() as connection:
                for chunk, read in zip(chunks, reads, strict=True):
                    if stop.is_set():
                        break
                    read.set_result(facts_today(connection, chunk, day))
        except BaseException as exc:  # handed to whoever waits for a read not done
            for read in reads:
                if not read.done():
                    read.set_exception(exc)

    reader = threading.Thread(target=read_all, name="facts-read-ahead", daemon=True)
    read_of = {identifier: read for chunk, read in zip(chunks, reads, strict=True) for identifier in chunk}
    reader.start()
    try:
        yield _ReadAhead(read_of)
    finally:
        stop.set()
        reader.join()


def facts_from_rows(rows: Any) -> dict[str, Facts]:
    """Subjects by identifier from rows of the facts query (subject columns, then record columns)."""
    found: dict[str, Facts] = {}
    for row in rows:
        facts = found.get(row[4])
        if facts is None:
            facts = found[row[4]] = Facts(_subject(row))
        if row[5] is not None:
            facts.records.append(InForce(str(row[5]), *row[6:]))
    return found


def facts_as_of(session: Session, identifiers: list[str], day: date) -> dict[str, Facts]:
    """As `facts_today`, but as the registry stood at the end of a past day (audit snapshots)."""
    query = (
        select(*_SUBJECT_COLUMNS, *_RECORD_COLUMNS)
        .select_from(Subject)
        .outerjoin(
            Record, and_(Record.subject_id == Subject.id, Record.received_at < history.end_of_day(day))
        )
        .outerjoin(Agency, Agency.code == Record.agency_code)
        .where(_identifier_clause(session, identifiers))
    )
    rows = session.execute(query).all()
    states = history.snapshots_as_of(session, [row.record_id for row in rows if row.record_id], day)
    found: dict[str, Facts] = {}
    for row in rows:
        facts = found.get(row.identifier)
        if facts is None:
            facts = found[row.identifier] = Facts(_subject(row))
        state = states.get(row.record_id) if row.record_id else None
        if state is None:
            continue
        start, end = date.fromisoformat(state["publicity_start"]), date.fromisoformat(state["publicity_end"])
        if not history.in_force(state["status"], start, end, day):
            continue
        facts.records.append(
            InForce(
                str(row.record_id),
                row.agency_code,
                row.agency_name,
                row.domain_code,
                state["list_type"],
                state["severity"],
                state["status"],
                state["decision_no"],
                date.fromisoformat(state["decision_date"]),
                end,
                bool(state["under_objection"]),
                int(state["version"]),
            )
        )
    return found


def _subject(row: Any) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "kind": row[1],
        "name": row[2],
        "identifier_type": row[3],
        "identifier": row[4],
    }


# --- deciding ---------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    decision: str
    measures: list[dict[str, Any]]
    incentives: list[dict[str, Any]]
    withheld: list[str]
    records: list[dict[str, Any]]  # those behind a measure, as the answer shows them
    under_objection: bool  # one of them is disputed
    decisive_domain: str | None
    state_digest: str


@dataclass(frozen=True)
class _Plan:
    """The decision for one shape of case: an action and the kinds (domain, list, severity) of the
    records in force, in order. Records enter by position, so one plan serves every subject whose
    records are of the same kinds (there are few kinds; a batch has thousands of subjects)."""

    decision: str
    decisive_domain: str | None
    # (the measure entry without its record ids, positions of the records that trigger it)
    punishments: tuple[tuple[dict[str, Any], tuple[int, ...]], ...]
    incentives: tuple[tuple[dict[str, Any], tuple[int, ...]], ...]
    withheld: list[str]
    triggering: tuple[int, ...]


def _plan(action: str, kinds: tuple[tuple[str, str, str], ...], rule_set: rules.RuleSet) -> _Plan:
    applied: dict[str, dict[str, Any]] = {}
    positions: dict[str, list[int]] = {}
    domains: dict[str, str] = {}
    triggering: list[int] = []
    for index, (domain, list_type, severity) in enumerate(kinds):
        for rule in rule_set.matching(action, domain, list_type, severity):
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
            if index not in triggering:
                triggering.append(index)

    def strongest_first(entry: dict[str, Any]) -> tuple[int, str]:
        return (-EFFECT_RANK[entry["effect"]], entry["code"])

    punishments = sorted((e for e in applied.values() if e["kind"] == "punishment"), key=strongest_first)
    incentives = sorted((e for e in applied.values() if e["kind"] == "incentive"), key=strongest_first)
    withheld: list[str] = []
    if punishments:
        decision, decisive_domain = punishments[0]["effect"], domains[punishments[0]["code"]]
        withheld = [e["code"] for e in incentives]
        incentives = []
    elif incentives:
        decision, decisive_domain = "incentive", domains[incentives[0]["code"]]
    else:
        decision, decisive_domain = "clear", None
    return _Plan(
        decision,
        decisive_domain,
        tuple((e, tuple(positions[e["code"]])) for e in punishments),
        tuple((e, tuple(positions[e["code"]])) for e in incentives),
        withheld,
        tuple(triggering),
    )


def evaluate(facts: Facts | None, action: str, rule_set: rules.RuleSet) -> Evaluation:
    if facts is None or not facts.records:
        return Evaluation("clear", [], [], [], [], False, None, rule_set.empty_digest)
    shared = facts.shared()
    key = (action, shared.kinds)
    plan = rule_set.plans.get(key)
    if plan is None:
        plan = rule_set.plans[key] = _plan(action, shared.kinds, rule_set)
    records, answered = facts.records, shared.records_out
    return Evaluation(
        plan.decision,
        [entry | {"record_ids": [records[i].id for i in where]} for entry, where in plan.punishments],
        [entry | {"record_ids": [records[i].id for i in where]} for entry, where in plan.incentives],
        plan.withheld,
        [answered[i] for i in plan.triggering],
        any(records[i].under_objection for i in plan.triggering),
        plan.decisive_domain,
        facts.state_digest(rule_set),
    )


def _record_out(record: InForce) -> dict[str, Any]:
    return {
        "id": record.id,
        "domain": record.domain,
        "list_type": record.list_type,
        "severity": record.severity,
        "status": record.status,
        "designating_agency": {"code": record.agency_code, "name_zh": record.agency_name},
        "decision_no": record.decision_no,
        "decision_date": record.decision_date.isoformat(),
        "publicity_end": record.publicity_end.isoformat(),
        "under_objection": record.under_objection,
    }


# --- checking and recording -------------------------------------------------------------------------


def _day(item: CheckIn, today: date) -> date:
    return item.as_of if item.as_of is not None and item.as_of < today else today


def refuse_future(items: list[CheckIn], today: date) -> None:
    fields = [
        {
            "field": f"items[{index}].as_of" if len(items) > 1 else "as_of",
            "detail": f"{item.as_of} is after today ({today})",
        }
        for index, item in enumerate(items)
        if item.as_of is not None and item.as_of > today
    ]
    if fields:
        raise ValidationFailed(fields)


def run_checks(session: Session, principal: Principal, items: list[CheckIn]) -> list["Answered"]:
    """Answer every item in order, record each one, sign a receipt for each. Nothing is stored when
    any item is refused."""
    today = china_today()
    refuse_future(items, today)
    by_day: dict[date, list[str]] = defaultdict(list)
    for item in items:
        by_day[_day(item, today)].append(item.subject.identifier)
    known: dict[date, FactsLookup] = {}
    rule_sets: dict[date, rules.RuleSet] = {}
    with ExitStack() as reading:
        for day, identifiers in by_day.items():
            unique = list(dict.fromkeys(identifiers))
            rule_sets[day] = rules.rule_set(session, day)
            if day == today and len(unique) > READ_AHEAD:
                known[day] = reading.enter_context(facts_read_ahead(unique, day))
                continue
            found: dict[str, Facts] = {}
            known[day] = found
            for start in range(0, len(unique), 5000):
                chunk = unique[start : start + 5000]
                if day == today:
                    found.update(facts_today(session.connection(), chunk, day))
                else:
                    found.update(facts_as_of(session, chunk, day))
        # The rows stream to the database as they are answered: on PostgreSQL the server stores
        # them while the next ones are decided and signed.
        with bulk_writer(session, Check, CheckRow._fields) as write:
            return answer_checks(principal, items, known, rule_sets, today, write)


class CheckRow(NamedTuple):
    """A row of `checks` as written (app.checks.models.Check), the receipt last: it comes from the
    signer once the rest is known. Ids in text form (UUID columns take either)."""

    id: str
    agency_code: str
    client_id: str
    identifier: str
    subject_id: str | None
    found: bool
    action: str
    reference: str | None
    as_of: date | None
    decision: str
    decisive_domain: str | None
    under_objection: bool
    state_digest: str
    answer: str
    rules_digest: str
    receipt_issuer: str
    checked_at: datetime
    receipt: str


def answer_checks(
    principal: Principal,
    items: list[CheckIn],
    known: Mapping[date, FactsLookup],
    rule_sets: dict[date, rules.RuleSet],
    today: date,
    record: Callable[[CheckRow], None],
) -> list["Answered"]:
    """The answers, receipts included, from the facts read; `record` gets the row of each."""
    now = utcnow()
    checked_at = now.isoformat()
    agency, client_id = principal.agency_code, principal.client_id
    issuer = get_settings().token_issuer
    answers: list[Answered | None] = [None] * len(items)

    def signed(context: tuple[int, str, bytes, tuple[Any, ...]], receipt: bytes, stored_form: str) -> None:
        position, decision, stored, row = context
        # The answer as stored, the receipt its last member: no second serialization of the answer.
        answers[position] = Answered(decision, b"".join((stored[:-1], b',"receipt":"', receipt, b'"}')))
        record(CheckRow._make((*row, stored_form)))

    signer = receipts.BatchSigner(signed, len(items))
    for position, (item, check_id) in enumerate(zip(items, new_id_texts(len(items)), strict=True)):
        day = _day(item, today)
        identifier = item.subject.identifier
        facts = known[day].get(identifier)
        rule_set = rule_sets[day]
        result = evaluate(facts, item.action, rule_set)
        as_of = item.as_of.isoformat() if item.as_of else None
        answer = {
            "id": check_id,
            "identifier": identifier,
            "found": facts is not None,
            "decision": result.decision,
            "action": item.action,
            "reference": item.reference,
            "as_of": as_of,
            "subject": facts.subject if facts else None,
            "measures": result.measures,
            "incentives": result.incentives,
            "incentives_withheld": result.withheld,
            "records": result.records,
            "under_objection": result.under_objection,
            "checked_at": checked_at,
        }
        stored = orjson.dumps(answer)
        row = (
            check_id,
            agency,
            client_id,
            identifier,
            facts.subject["id"] if facts else None,
            facts is not None,
            item.action,
            item.reference,
            item.as_of,
            result.decision,
            result.decisive_domain,
            result.under_objection,
            result.state_digest,
            stored.decode(),
            rule_set.digest,
            issuer,
            now,
        )
        payload = receipts.receipt_payload(answer, agency, result.state_digest, rule_set.digest, issuer)
        signer.add((position, result.decision, stored, row), payload)
    signer.finish()
    signed_answers = [answer for answer in answers if answer is not None]
    assert len(signed_answers) == len(items), "every answer signed"
    return signed_answers


class Answered(NamedTuple):
    """An answer as sent: its decision (for the metrics) and its JSON, receipt included."""

    decision: str
    json: bytes


# --- reading checks back, feedback ------------------------------------------------------------------


def _visible_check(session: Session, principal: Principal, check_id: uuid.UUID) -> Check:
    check = session.get(Check, check_id)
    if check is None:
        raise NotFound(f"no check {check_id}")
    if check.agency_code != principal.agency_code and not principal.has(Scope.admin):
        raise Forbidden(f"check {check_id} was made by another agency")
    return check


def feedback_out(feedback: CheckFeedback) -> dict[str, Any]:
    return {
        "check_id": feedback.check_id,
        "outcome": feedback.outcome,
        "note": feedback.note,
        "agency": feedback.agency_code,
        "reported_at": feedback.reported_at,
    }


def stored_check(session: Session, principal: Principal, check_id: uuid.UUID) -> dict[str, Any]:
    """The check as it was answered, its receipt, and the approver's feedback if any."""
    check = _visible_check(session, principal, check_id)
    feedback = session.scalars(select(CheckFeedback).where(CheckFeedback.check_id == check_id)).first()
    answer = dict(orjson.loads(check.answer))
    return answer | {
        "receipt": stored_receipt(check, answer),
        "agency": check.agency_code,
        "client_id": check.client_id,
        "feedback": feedback_out(feedback) if feedback else None,
    }


def stored_receipt(check: Check, answer: dict[str, Any]) -> str:
    """The receipt the check was answered with, its payload rebuilt from the row."""
    if check.rules_digest is None or check.receipt_issuer is None:  # stored whole
        return check.receipt
    payload = receipts.receipt_payload(
        answer, check.agency_code, check.state_digest, check.rules_digest, check.receipt_issuer
    )
    return receipts.attach(check.receipt, payload)


def give_feedback(
    session: Session, principal: Principal, check_id: uuid.UUID, body: FeedbackIn
) -> CheckFeedback:
    check = session.get(Check, check_id)
    if check is None:
        raise NotFound(f"no check {check_id}")
    if check.agency_code != principal.agency_code:
        raise Forbidden(f"check {check_id} was made by another agency; only its approver reports on it")
    if session.scalars(select(CheckFeedback.id).where(CheckFeedback.check_id == check_id)).first():
        raise FeedbackExists(f"feedback on check {check_id} was already given")
    feedback = CheckFeedback(
        id=uuid.uuid4(),
        check_id=check_id,
        outcome=body.outcome,
        note=body.note or None,
        agency_code=principal.agency_code,
        client_id=principal.client_id,
        reported_at=utcnow(),
    )
    session.add(feedback)
    session.flush()
    payload = {
        "outcome": body.outcome,
        "note": feedback.note,
        "decision": check.decision,
        "action": check.action,
    }
    audit.append(session, principal.actor, [audit.Event("check.feedback", "check", str(check_id), payload)])
    return feedback


def list_checks(
    session: Session,
    principal: Principal,
    *,
    agency: str | None,
    identifier: str | None,
    decision: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """An agency's checks, newest first; administrators may name any agency, or none for all."""
    if agency is not None and agency != principal.agency_code and not principal.has(Scope.admin):
        raise Forbidden("an agency reads its own checks; administrators read every agency's")
    if agency is None and not principal.has(Scope.admin):
        agency = principal.agency_code
    query = select(Check)
    if agency is not None:
        query = query.where(Check.agency_code == agency)
    if identifier is not None:
        query = query.where(Check.identifier == identifier.strip().upper())
    if decision is not None:
        query = query.where(Check.decision == decision)
    if action is not None:
        query = query.where(Check.action == action)
    if since is not None:
        query = query.where(Check.checked_at >= since)
    if until is not None:
        query = query.where(Check.checked_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(
        session.scalars(query.order_by(Check.checked_at.desc(), Check.id).limit(limit).offset(offset))
    )
    outcomes: dict[uuid.UUID, str] = {}
    if page:
        rows = session.execute(
            select(CheckFeedback.check_id, CheckFeedback.outcome).where(
                column_in(session, CheckFeedback.check_id, [c.id for c in page])
            )
        )
        outcomes = {row.check_id: row.outcome for row in rows}
    items = [
        {
            "id": c.id,
            "identifier": c.identifier,
            "found": c.found,
            "action": c.action,
            "decision": c.decision,
            "reference": c.reference,
            "as_of": c.as_of,
            "agency": c.agency_code,
            "checked_at": c.checked_at,
            "feedback": outcomes.get(c.id),
        }
        for c in page
    ]
    return items, total
