"""An approver's check, one pipeline for a single check and for a batch, on either database:

    identify the subject → the rules and the facts of the day → decide (engine) → sign (receipts)
    → record (store) → answer

The router parses and authorizes, then calls `check_one` or `check_batch`. What differs between
PostgreSQL and SQLite is only the store's transport (app.checks.store).
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import orjson
from starlette.concurrency import run_in_threadpool

from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog import service as catalog
from app.checks import receipts
from app.checks.engine import Facts, Viewer, evaluate, subject_view
from app.checks.schemas import CheckIn, CheckSubjectIn
from app.checks.store import CheckRow, CheckStore
from app.config import get_settings
from app.db import new_id_texts, session_scope
from app.errors import ValidationFailed
from app.kit.clock import china_today, utcnow
from app.kit.coalesce import SingleFlight
from app.kit.identifiers import IdentifierError, recognize, validate_identifier
from app.kit.observe import CHECKS
from app.rules import service as rules
from app.rules.service import RuleSet


class Answered(NamedTuple):
    """An answer as sent: its decision (for the metrics) and its JSON, receipt included."""

    decision: str
    json: bytes


@dataclass(frozen=True)
class Refused:
    """A batch item the registry would not answer (its identifier cannot exist)."""

    index: int
    detail: str

    @property
    def json(self) -> bytes:
        return orjson.dumps(
            {"index": self.index, "status": "error", "error": "validation_error", "detail": self.detail}
        )


def identify(subject: CheckSubjectIn) -> str:
    """The identifier in its normal form; raises IdentifierError when it fails its standard."""
    if subject.identifier_type is None:
        return recognize(subject.identifier)[1]
    return validate_identifier(subject.identifier_type, subject.identifier)


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


def _day(item: CheckIn, today: date) -> date:
    return item.as_of if item.as_of is not None and item.as_of < today else today


async def check_one(store: CheckStore, principal: Principal, item: CheckIn) -> Answered:
    """Answer one check, recorded before the answer is returned."""
    today = china_today()
    refuse_future([item], today)
    try:
        identifier = identify(item.subject)
    except IdentifierError as exc:
        raise ValidationFailed.one("subject.identifier", str(exc)) from None
    day = _day(item, today)
    rule_set, names = await _rule_set(day), await _agency_names()
    if day == today:
        facts = await store.facts(day, identifier)
    else:
        facts = (await store.facts_as_of(day, [identifier])).get(identifier)
    rows: list[CheckRow] = []
    (answer,) = answer_checks(
        principal, [(item, identifier)], {day: {identifier: facts} if facts else {}}, {day: rule_set},
        names, today, rows.append,
    )  # fmt: skip
    await store.record(rows[0])
    CHECKS.labels(answer.decision).inc()
    return answer


async def check_batch(
    store: CheckStore, principal: Principal, items: list[CheckIn]
) -> list[Answered | Refused]:
    """Answer every item in order, each recorded with its receipt; an item whose identifier cannot
    exist is refused on its own (its index and why), the others answered."""
    today = china_today()
    refuse_future(items, today)
    asked: list[tuple[int, CheckIn, str]] = []
    refused: list[Refused] = []
    for index, item in enumerate(items):
        try:
            asked.append((index, item, identify(item.subject)))
        except IdentifierError as exc:
            refused.append(Refused(index, f"subject.identifier: {exc}"))
    by_day: dict[date, list[str]] = defaultdict(list)
    for _, item, identifier in asked:
        by_day[_day(item, today)].append(identifier)
    known: dict[date, dict[str, Facts]] = {}
    rule_sets: dict[date, RuleSet] = {}
    for day, identifiers in by_day.items():
        unique = list(dict.fromkeys(identifiers))
        rule_sets[day] = await _rule_set(day)
        if day == today:
            known[day] = await store.facts_of_many(day, unique)
        else:
            known[day] = await store.facts_as_of(day, unique)
    names = await _agency_names()
    rows: list[CheckRow] = []
    shared: list[receipts.BatchRoot] = []
    # Deciding and signing thousands of answers is CPU work: off the event loop.
    answered = await run_in_threadpool(
        answer_checks,
        principal,
        [(item, identifier) for _, item, identifier in asked],
        known,
        rule_sets,
        names,
        today,
        rows.append,
        shared.append,
    )
    await store.record_many(rows, shared[0] if shared else None)
    for decision, count in Counter(answer.decision for answer in answered).items():
        CHECKS.labels(decision).inc(count)
    results: list[Answered | Refused | None] = [None] * len(items)
    for (index, _, _), answer in zip(asked, answered, strict=True):
        results[index] = answer
    for refusal in refused:
        results[refusal.index] = refusal
    return [result for result in results if result is not None]


async def _rule_set(day: date) -> RuleSet:
    """The day's rule set from the process's cache; when it has expired (every RULESET_TTL_SECONDS),
    one reload for all the checks that arrive meanwhile (each loading its own queued up to 16 loads
    of ~5 ms behind the interpreter lock: a latency spike every two seconds)."""
    cached = rules.cached_rule_set(day)
    return cached if cached is not None else await _rule_set_loads.get((day, rules.cache_generation()))


def _load_rule_set(day: date) -> RuleSet:
    with session_scope(writing=False) as session:
        return rules.rule_set(session, day)


async def _load_rule_set_once(key: tuple[date, int]) -> RuleSet:
    return await run_in_threadpool(_load_rule_set, key[0])


_rule_set_loads: SingleFlight[tuple[date, int], RuleSet] = SingleFlight(_load_rule_set_once)


async def _agency_names() -> dict[str, str]:
    cached = catalog.cached_agency_names()
    return cached if cached is not None else await run_in_threadpool(_load_agency_names)


def _load_agency_names() -> dict[str, str]:
    with session_scope(writing=False) as session:
        return catalog.agency_names(session)


def answer_checks(
    principal: Principal,
    asked: list[tuple[CheckIn, str]],
    known: Mapping[date, Mapping[str, Facts]],
    rule_sets: dict[date, RuleSet],
    names: dict[str, str],
    today: date,
    record: Callable[[CheckRow], None],
    keep_batch: Callable[[receipts.BatchRoot], None] | None = None,
) -> list[Answered]:
    """The answers, receipts included, from the facts read; `record` gets the row of each. A
    single check gets its own JWS; a batch (`keep_batch` given) one signature over all of them,
    and `keep_batch` what their stored receipts share (app.checks.receipts)."""
    batch = keep_batch is not None
    now = utcnow()
    checked_at = now.isoformat()
    agency, client_id = principal.agency_code, principal.client_id
    viewer = Viewer(agency, sees_all=principal.has(Scope.admin))
    issuer = get_settings().token_issuer
    receipt_format = receipts.BATCH_FORMAT if batch else receipts.SINGLE_FORMAT
    answered: list[tuple[str, bytes, tuple[Any, ...]]] = []
    payloads: list[dict[str, Any]] = []
    for (item, identifier), check_id in zip(asked, new_id_texts(len(asked)), strict=True):
        day = _day(item, today)
        facts = known[day].get(identifier)
        rule_set = rule_sets[day]
        result = evaluate(facts, item.action, rule_set, viewer, names)
        answer = {
            "id": check_id,
            "identifier": identifier,
            "found": facts is not None,
            "decision": result.decision,
            "action": item.action,
            "reference": item.reference,
            "as_of": item.as_of.isoformat() if item.as_of else None,
            "subject": subject_view(facts, viewer) if facts else None,
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
            receipt_format,
            now,
        )
        answered.append((result.decision, stored, row))
        payloads.append(
            receipts.receipt_payload(
                answer, agency, result.state_digest, rule_set.digest, issuer, receipt_format
            )
        )
    if keep_batch is not None:
        signed, shared = receipts.sign_batch(payloads, issuer)
        if shared is not None:
            keep_batch(shared)
    else:
        signed = [receipts.sign_one(payload) for payload in payloads]
    answers = []
    for (decision, stored, row), receipt in zip(answered, signed, strict=True):
        # The answer as stored, the receipt its last member: no second serialization of the answer.
        answers.append(Answered(decision, b"".join((stored[:-1], b',"receipt":"', receipt.receipt, b'"}'))))
        record(CheckRow._make((*row, receipt.stored)))
    return answers
