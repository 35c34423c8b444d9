"""An approver's check, one pipeline for a single check and for a batch, on either database:

    identify the subject → the rules and the facts of the day → decide (engine) → sign (receipts)
    → record (store) → answer

The router parses and authorizes, then calls `check_one` or `check_batch`. What differs between
PostgreSQL and SQLite is only the store's transport (app.checks.store).
"""

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

import orjson
from starlette.concurrency import run_in_threadpool

from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog import service as catalog
from app.checks import receipts
from app.checks.engine import Evaluation, Facts, Viewer, evaluate, subject_view
from app.checks.schemas import CheckIn, CheckSubjectIn
from app.checks.store import CheckRow, CheckStore
from app.config import get_settings
from app.db import new_id_texts, session_scope
from app.errors import ValidationFailed
from app.kit.clock import china_today, utcnow
from app.kit.coalesce import SingleFlight
from app.kit.identifiers import IdentifierError, is_registry_reference, recognize, validate_identifier
from app.kit.observe import CHECKS
from app.records import references
from app.rules import service as rules
from app.rules.service import RuleSet


class Answered(NamedTuple):
    """An answer as sent: its decision (for the metrics), its JSON as stored (without the receipt)
    and its receipt; `json` is the answer with the receipt its last member."""

    decision: str
    answer: bytes
    receipt: bytes

    @property
    def parts(self) -> tuple[bytes | memoryview, ...]:
        # The answer as stored, the receipt its last member: no second serialization of the answer,
        # and no copy of either until the whole response is joined (a batch's is ~30 MB).
        return (memoryview(self.answer)[:-1], b',"receipt":"', self.receipt, b'"}')

    @property
    def json(self) -> bytes:
        return b"".join(self.parts)


@dataclass(frozen=True)
class Refused:
    """A batch item the registry would not answer (its identifier cannot exist)."""

    index: int
    detail: str

    @property
    def parts(self) -> tuple[bytes]:
        return (
            orjson.dumps(
                {"index": self.index, "status": "error", "error": "validation_error", "detail": self.detail}
            ),
        )


def identify(subject: CheckSubjectIn) -> str:
    """The identifier in its normal form; raises IdentifierError when it fails its standard."""
    if subject.identifier_type is None:
        return recognize(subject.identifier)[1]
    return validate_identifier(subject.identifier_type, subject.identifier)


def _future(item: CheckIn, today: date) -> str | None:
    """Why the item cannot be answered as asked: a day still to come has no registry to answer from."""
    if item.as_of is not None and item.as_of > today:
        return f"{item.as_of} is after today ({today})"
    return None


class Question(Protocol):
    """What deciding a check reads of what was asked: a CheckIn, or a watchlist's standing question
    (app.monitoring.alerts: one for all of its identifiers)."""

    @property
    def action(self) -> str: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def as_of(self) -> date | None: ...


def _day(item: Question, today: date) -> date:
    return item.as_of if item.as_of is not None and item.as_of < today else today


async def check_one(store: CheckStore, principal: Principal, item: CheckIn) -> Answered:
    """Answer one check, recorded before the answer is returned."""
    today = china_today()
    if (future := _future(item, today)) is not None:
        raise ValidationFailed.one("as_of", future)
    try:
        identifier = identify(item.subject)
    except IdentifierError as exc:
        raise ValidationFailed.one("subject.identifier", str(exc)) from None
    if identifier in await _never_issued([identifier]):
        raise ValidationFailed.one("subject.identifier", NEVER_ISSUED)
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


# A batch is decided and written this many items at a time: the database reads the next part's facts
# and takes in the last part's rows while this process decides the current one.
BATCH_PART = 1000


async def check_batch(
    store: CheckStore, principal: Principal, items: Sequence[CheckIn | Refused]
) -> list[Answered | Refused]:
    """Answer every item in order, each recorded with its receipt; an item that cannot be answered
    (refused already for its shape, an identifier that cannot exist, a day to come) is refused on
    its own (its index and why), the others answered."""
    today = china_today()
    asked: list[tuple[int, CheckIn, str]] = []
    refused: list[Refused] = []
    for index, item in enumerate(items):
        if isinstance(item, Refused):  # its shape was wrong (app.checks.router)
            refused.append(item)
        elif (future := _future(item, today)) is not None:
            refused.append(Refused(index, f"as_of: {future}"))
        else:
            try:
                asked.append((index, item, identify(item.subject)))
            except IdentifierError as exc:
                refused.append(Refused(index, f"subject.identifier: {exc}"))
    unissued = await _never_issued([identifier for _, _, identifier in asked])
    if unissued:
        refused += [
            Refused(i, f"subject.identifier: {NEVER_ISSUED}") for i, _, key in asked if key in unissued
        ]
        asked = [one for one in asked if one[2] not in unissued]
    rule_sets = {day: await _rule_set(day) for day in sorted({_day(item, today) for _, item, _ in asked})}
    names = await _agency_names()
    now, issuer, key = utcnow(), get_settings().token_issuer, new_id_texts(1)[0]
    parts = [asked[start : start + BATCH_PART] for start in range(0, len(asked), BATCH_PART)]
    decided: list[Decided] = []

    async def facts_of(part: list[tuple[int, CheckIn, str]]) -> dict[date, dict[str, Facts]]:
        by_day: dict[date, list[str]] = defaultdict(list)
        for _, item, identifier in part:
            by_day[_day(item, today)].append(identifier)
        known = {}
        for day, identifiers in by_day.items():
            unique = list(dict.fromkeys(identifiers))
            read = store.facts_of_many if day == today else store.facts_as_of
            known[day] = await read(day, unique)
        return known

    async def rows() -> AsyncGenerator[list[CheckRow], None]:
        reading = asyncio.ensure_future(facts_of(parts[0]))
        try:
            for number, part in enumerate(parts):
                known = await reading
                if number + 1 < len(parts):  # the next part's facts read while this one is decided
                    reading = asyncio.ensure_future(facts_of(parts[number + 1]))
                # Deciding is CPU work: off the event loop.
                made = await run_in_threadpool(
                    decide_checks, principal, [(item, identifier) for _, item, identifier in part],
                    known, rule_sets, names, today, now, receipts.BATCH_FORMAT,
                )  # fmt: skip
                first = len(decided)
                decided.extend(made)
                yield [
                    CheckRow._make((*one.row, receipts.stored_in_batch(key, first + offset)))
                    for offset, one in enumerate(made)
                ]
        finally:
            reading.cancel()  # done already, unless deciding failed

    signed: list[bytes] = []

    async def sign() -> receipts.BatchRoot | None:
        made, shared = await run_in_threadpool(
            receipts.sign_batch, [one.payload for one in decided], issuer, key
        )
        signed.extend(made)
        return shared

    if parts:
        await store.record_batch(rows(), sign)
    for decision, count in Counter(one.decision for one in decided).items():
        CHECKS.labels(decision).inc(count)
    results: list[Answered | Refused | None] = [None] * len(items)
    for (index, _, _), one, receipt in zip(asked, decided, signed, strict=True):
        results[index] = one.with_receipt(receipt)
    for refusal in refused:
        results[refusal.index] = refusal
    return [result for result in results if result is not None]


NEVER_ISSUED = (
    "the registry issued no such reference (R…): it names no organisation, so there is nothing to answer "
    "about it (a reference is read whatever its case)"
)


async def _never_issued(identifiers: list[str]) -> set[str]:
    """Of these identifiers, the registry references (R…) it never issued: an approver is never told
    "clear" about an identifier that cannot exist (API.md, second release). Read only when some
    identifier has a reference's shape."""
    wanted = sorted({identifier for identifier in identifiers if is_registry_reference(identifier)})
    if not wanted:
        return set()

    def read() -> set[str]:
        with session_scope(writing=False) as session:
            return set(wanted) - references.issued(session, wanted)

    return await run_in_threadpool(read)


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


class Decided(NamedTuple):
    """A check decided, not yet signed."""

    decision: str
    answer: bytes  # the answer's JSON as stored, without its receipt
    row: tuple[Any, ...]  # the check's row (CheckRow) but its stored receipt
    payload: dict[str, Any]  # what its receipt signs

    def with_receipt(self, receipt: bytes) -> Answered:
        return Answered(self.decision, self.answer, receipt)


def decide_checks(
    principal: Principal,
    asked: Sequence[tuple[Question, str]],
    known: Mapping[date, Mapping[str, Facts]],
    rule_sets: dict[date, RuleSet],
    names: dict[str, str],
    today: date,
    now: datetime,
    receipt_format: int,
    evaluated: Sequence[Evaluation] | None = None,
) -> list[Decided]:
    """The answers from the facts read, with their rows and receipt payloads (pure: no I/O);
    `evaluated`: the items' evaluations when the caller has just made them."""
    checked_at = now.isoformat()
    agency, client_id = principal.agency_code, principal.client_id
    viewer = Viewer(agency, sees_all=principal.has(Scope.admin))
    issuer = get_settings().token_issuer
    decided = []
    for index, ((item, identifier), check_id) in enumerate(zip(asked, new_id_texts(len(asked)), strict=True)):
        day = _day(item, today)
        facts = known[day].get(identifier)
        rule_set = rule_sets[day]
        result = evaluated[index] if evaluated else evaluate(facts, item.action, rule_set, viewer, names)
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
            stored,
            rule_set.digest,
            issuer,
            receipt_format,
            now,
        )
        payload = receipts.receipt_payload(
            answer, agency, result.state_digest, rule_set.digest, issuer, receipt_format
        )
        decided.append(Decided(result.decision, stored, row, payload))
    return decided


def answer_checks(
    principal: Principal,
    asked: Sequence[tuple[Question, str]],
    known: Mapping[date, Mapping[str, Facts]],
    rule_sets: dict[date, RuleSet],
    names: dict[str, str],
    today: date,
    record: Callable[[CheckRow], None],
    signed_together: bool = False,
    evaluated: Sequence[Evaluation] | None = None,
) -> list[Answered]:
    """The answers, receipts included, from the facts read; `record` gets the row of each. Each
    gets its own JWS, or (`signed_together`) one signature covers all of them, each receipt then
    stored whole (a batch of checks goes through `check_batch`, which keeps the shared parts once)."""
    format_ = receipts.BATCH_FORMAT if signed_together else receipts.SINGLE_FORMAT
    decided = decide_checks(principal, asked, known, rule_sets, names, today, utcnow(), format_, evaluated)
    if signed_together:
        payloads = [one.payload for one in decided]
        signed, _ = receipts.sign_batch(payloads, get_settings().token_issuer, new_id_texts(1)[0])
        stored = [receipt.decode() for receipt in signed]  # whole: no batch row to find them by
    else:
        singles = [receipts.sign_one(one.payload) for one in decided]
        signed, stored = [one.receipt for one in singles], [one.stored for one in singles]
    for one, kept in zip(decided, stored, strict=True):
        record(CheckRow._make((*one.row, kept)))
    return [one.with_receipt(receipt) for one, receipt in zip(decided, signed, strict=True)]
