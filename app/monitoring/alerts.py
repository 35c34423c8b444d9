"""Alerts: whenever what a check would answer about a watched identifier changes, an alert carrying
the decision before and after and the new answer, signed exactly as a check's receipt.

How it is kept (the outbox): every change is appended to the audit log in its own transaction, and
app.audit calls `after_append` there (installed by the app and the console script). While anything
is watched, it writes one small row there (`WatchChange`: the change's record and rule events and
its audit position) and nothing else: a change that rolls back leaves none; one that commits cannot
lose it. After commit the delivery worker (`make`, before each round's deliveries) takes the rows in
order, decides again the watched identifiers they reach, writes the alerts with their receipts and
webhook deliveries where the answer changed, and marks the rows done, in one transaction: a crash
before its commit leaves the rows to the next round, and a row made twice makes no second alert (the
fingerprints were stored with the first).

Each watched identifier keeps the decision last known for it (`WatchItem.fingerprint`: the decision,
its measures and the records in force as the owner sees them). A change's row names records and
rules: for records only the identifiers they reach are decided again — a record's subject and the
related parties it names; for a rule added, replaced or retired every watched identifier, in chunks,
with one read of the records in force per chunk — and an alert is made only where the fingerprint
changed: decision before as last stored, after as the registry answers when the alert is made. When
the worker is behind, changes already committed count in that answer: several changes to one
identifier then make one alert (the latest event's), never an alert for a state that was not.

One alert maker at a time (PostgreSQL: a transaction advisory lock; the rows also claimed with FOR
UPDATE SKIP LOCKED; SQLite: the one writer): alerts are numbered in commit order (the feed's cursor
never skips one) and in the order of the changes per watched identifier.

Alert volume stays bounded: at most one alert per watched identifier and watchlist per round of the
maker (a batch of records or a rule change is one change; a round takes up to MAKE_BATCH of them),
and none where the answer is the same. A rule that changes the answer for 100,000 watched
identifiers makes 100,000 alerts, signed with one signature (a batch receipt: Merkle proof and
signed root, app.checks.receipts), written with one COPY; a rule change that alters no answer makes
none.
"""

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal, client_is_active
from app.catalog import service as catalog
from app.checks.engine import Evaluation, Facts, Viewer, evaluate, facts_from_rows
from app.checks.flows import answer_checks
from app.checks.store import CheckRow
from app.db import bulk_insert, column_in, new_id_texts
from app.kit.clock import china_today, utcnow
from app.kit.signing import canonical_json
from app.monitoring import wake
from app.monitoring.models import Alert, Delivery, WatchChange, WatchItem, Watchlist
from app.records import repository
from app.records.repository import SUBJECT_WIDTH
from app.rules import service as rules
from app.rules.service import RuleSet

READ_CHUNK = 5000
HANDOFF = "registry.alerts.handoff"  # a session's info key: see Handoff
# The rules are read afresh in the transaction, never from the process's cache: a cache a moment
# behind another process's rule change would flip answers back and forth, each flip an alert.


class StandingQuestion(NamedTuple):
    """What a watchlist asks about each of its identifiers, as a check would (app.checks.flows.Question)."""

    action: str
    reference: str
    as_of: None


class Watched(NamedTuple):
    """A watched identifier as read for comparing (plain rows: no ORM objects to keep fresh)."""

    watchlist_id: uuid.UUID
    identifier: str
    decision: str
    fingerprint: str


WATCHED_COLUMNS = (WatchItem.watchlist_id, WatchItem.identifier, WatchItem.decision, WatchItem.fingerprint)


@dataclass(frozen=True)
class Known:
    decision: str
    fingerprint: str
    evaluation: Evaluation = field(compare=False)  # what it was computed from


@dataclass
class Handoff:
    """Put in `session.info[HANDOFF]` by a worker that sends what it makes itself: the deliveries are
    written already claimed by it (their first attempt counted, the next one `until` ahead, as
    app.monitoring.delivery's claim leaves them), and `made` receives each with what its POST needs,
    so that the worker sends them once the transaction commits without reading them back. A worker
    that dies before sending leaves them to be claimed when the lease runs out (at least once)."""

    until: datetime
    made: list[tuple[str, SimpleNamespace, str, str]] = field(default_factory=list)
    # (delivery id, the alert as ALERT_COLUMNS read it, callback URL, secret)


def owner(watchlist: Watchlist) -> Principal:
    """Whom the decisions are made for: the watchlist's agency, as its approvers' checks see it."""
    return Principal(watchlist.client_id, watchlist.agency_code, frozenset({Scope.checks_write.value}))


def read_facts(session: Session, identifiers: Sequence[str], day: date) -> dict[str, Facts]:
    """Subjects and their records in force, as this transaction sees them (a change not yet
    committed included)."""
    found: dict[str, Facts] = {}
    connection = session.connection()
    for start in range(0, len(identifiers), READ_CHUNK):
        chunk = list(identifiers[start : start + READ_CHUNK])
        if chunk:
            found.update(facts_from_rows(repository.read_in_force(connection, chunk, day), SUBJECT_WIDTH))
    return found


def decide(
    facts: Facts | None, action: str, rule_set: RuleSet, viewer: Viewer, names: dict[str, str]
) -> Known:
    result = evaluate(facts, action, rule_set, viewer, names)

    def measures(entries: list[dict[str, Any]]) -> list[Any]:
        return [[m["code"], m["effect"], m["record_ids"]] for m in entries]

    substance = {
        "found": facts is not None,
        "decision": result.decision,
        "measures": measures(result.measures),
        "incentives": measures(result.incentives),
        "withheld": result.withheld,
        "records": result.records,
        "under_objection": result.under_objection,
    }
    return Known(result.decision, hashlib.sha256(canonical_json(substance)).hexdigest(), result)


def initial(session: Session, watchlist: Watchlist, identifiers: Sequence[str]) -> dict[str, Known]:
    """What a check would answer now about each identifier, for the owner (no alert: the baseline)."""
    today = china_today()
    rule_set = rules.fresh_rule_set(session, today)
    names = catalog.agency_names(session)
    viewer = Viewer(watchlist.agency_code)
    facts = read_facts(session, identifiers, today)
    return {
        identifier: decide(facts.get(identifier), watchlist.action, rule_set, viewer, names)
        for identifier in identifiers
    }


# --- in a change's transaction: the outbox row -------------------------------------------------------

WATCHED_ENTITIES = ("record", "rule")


def after_append(session: Session, events: Sequence[audit.Event], seqs: Sequence[int]) -> None:
    """app.audit's listener: the outbox row of a change of records or rules, in its transaction
    (the alerts are made after commit, by `make`)."""
    wanted = [
        [event.action, event.entity_type, event.entity_id]
        for event in events
        if event.entity_type in WATCHED_ENTITIES
    ]
    if not wanted:
        return
    if session.execute(select(WatchItem.identifier).limit(1)).first() is None:
        return  # nobody watches anything: the push path pays one indexed probe
    session.execute(
        insert(WatchChange).values(
            audit_seq=seqs[-1], events=orjson.dumps(wanted).decode(), created_at=utcnow(), done_at=None
        )
    )
    wake.after_commit(session, wake.MAKER)  # this process's worker makes the alerts at once


# --- after commit: the alert maker ------------------------------------------------------------------

MAKE_BATCH = 50  # changes taken per round (a round's alerts are signed together)
# ... and fewer once their events reach this: a round's alerts are sent only once it commits, so a
# maker that fell behind catches up in steps whose alerts go out meanwhile, not in one long round.
MAKE_EVENTS = 1000
DONE_KEPT = timedelta(days=1)  # done outbox rows are kept this long (to trace an alert to its change)
_MAKERS_LOCK_KEY = 0x414C5254  # "ALRT": one alert maker at a time


def hold_makers_lock(session: Session, wait: bool) -> bool:
    """Make alerts (or delete a watchlist's) alone until this transaction ends; False when `wait` is
    off and another process holds it (PostgreSQL; on SQLite the writing transaction is alone)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MAKERS_LOCK_KEY})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _MAKERS_LOCK_KEY}))


def make(session: Session, limit: int = MAKE_BATCH) -> int | None:
    """Alerts for up to `limit` outbox rows, oldest first (fewer once their events reach
    MAKE_EVENTS), and the rows marked done, in `session`'s transaction; the number of rows taken
    (None: another process is making alerts)."""
    if not hold_makers_lock(session, wait=False):
        return None
    query = (
        select(WatchChange.seq, WatchChange.events)
        .where(WatchChange.done_at.is_(None))
        .order_by(WatchChange.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    seqs, changes, taken = [], [], 0
    for seq, events in session.execute(query):
        if taken >= MAKE_EVENTS:
            break  # the rest next round (their locks held until this one commits)
        seqs.append(seq)
        changes.append(orjson.loads(events))
        taken += len(changes[-1])
    if not seqs:
        return 0
    records: dict[str, str] = {}  # record id -> its latest event, in the changes' order
    rule: str | None = None  # rule events one after another: one pass over everything, the last's
    for events in changes:
        for action, entity_type, entity_id in events:
            if entity_type == "rule":
                _after_record_events(session, records)  # what came before the rule first
                records, rule = {}, action
                continue
            if rule is not None:
                rescan(session, rule)
                rule = None
            records.pop(entity_id, None)
            records[entity_id] = action
    _after_record_events(session, records)
    if rule is not None:
        rescan(session, rule)
    now = utcnow()
    session.execute(update(WatchChange).where(WatchChange.seq.in_(seqs)).values(done_at=now))
    session.execute(delete(WatchChange).where(WatchChange.done_at < now - DONE_KEPT))
    return len(seqs)


def _after_record_events(session: Session, events: dict[str, str]) -> None:
    """Decide again the watched identifiers the records reach; `events`: record id -> event."""
    if not events:
        return
    reached = repository.identifiers_reached(session, list(events))
    cause: dict[str, tuple[str, str]] = {}  # identifier -> (event, record id): the last one wins
    for record_id, action in events.items():
        for identifier in reached.get(record_id, ()):
            cause[identifier] = (action, record_id)
    if not cause:
        return
    rows = [
        Watched(*row)
        for row in session.execute(
            select(*WATCHED_COLUMNS).where(column_in(session, WatchItem.identifier, list(cause)))
        )
    ]
    if not rows:
        return
    by_list: dict[uuid.UUID, list[Watched]] = {}
    for item in rows:
        by_list.setdefault(item.watchlist_id, []).append(item)
    watchlists = session.scalars(
        select(Watchlist).where(Watchlist.id.in_(list(by_list))).order_by(Watchlist.created_at)
    ).all()
    today = china_today()
    rule_set = rules.fresh_rule_set(session, today)
    facts = read_facts(session, sorted({item.identifier for item in rows}), today)
    # Another agency's restricted record is not named to a watcher, as a check does not name it
    # (API.md, Second release: domain, list type and the measure only).
    restricted = repository.restricted_records(session, [uuid.UUID(r) for r in events])

    def cause_for(agency: str) -> Any:
        def cause_of(identifier: str) -> tuple[str, str]:
            event, record_id = cause[identifier]
            owner = restricted.get(uuid.UUID(record_id))
            return (event, "") if owner is not None and owner != agency else (event, record_id)

        return cause_of

    for watchlist in watchlists:
        _compare(
            session,
            watchlist,
            by_list[watchlist.id],
            facts,
            rule_set,
            today,
            cause_for(watchlist.agency_code),
        )


def rescan(session: Session, event: str) -> int:
    """Decide every watched identifier again (a rule changed, or the day turned and the rules or
    publicity periods in force with it); the number of alerts made."""
    today = china_today()
    rule_set = rules.fresh_rule_set(session, today)
    made = 0
    for watchlist in session.scalars(select(Watchlist).order_by(Watchlist.created_at)).all():
        items = [
            Watched(*row)
            for row in session.execute(
                select(*WATCHED_COLUMNS)
                .where(WatchItem.watchlist_id == watchlist.id)
                .order_by(WatchItem.identifier)
            )
        ]
        for start in range(0, len(items), READ_CHUNK):
            chunk = list(items[start : start + READ_CHUNK])
            facts = read_facts(session, [item.identifier for item in chunk], today)
            made += _compare(session, watchlist, chunk, facts, rule_set, today, lambda _: (event, ""))
    return made


# The day's turn: rules that take effect or end on a day change answers with no write to tell it.
DAY_CHANGED = "day.changed"


def rescan_for_new_day(session: Session) -> int | None:
    """Decide every watched identifier again on a new day (China time); None when another process is
    making alerts (the makers' lock). Running it twice makes no second alert: only changed answers
    alert, and the first run stored them."""
    if not hold_makers_lock(session, wait=False):
        return None
    return rescan(session, DAY_CHANGED)


def _compare(
    session: Session,
    watchlist: Watchlist,
    items: Iterable[Watched],
    facts: dict[str, Facts],
    rule_set: RuleSet,
    today: date,
    cause_of: Any,
) -> int:
    names = catalog.agency_names(session)
    viewer = Viewer(watchlist.agency_code)
    changed: list[tuple[Watched, Known]] = []
    for item in items:
        now = decide(facts.get(item.identifier), watchlist.action, rule_set, viewer, names)
        if now.fingerprint != item.fingerprint:
            changed.append((item, now))
    if not changed:
        return 0
    principal = owner(watchlist)
    # The watchlist's standing question, the same for each of its identifiers.
    question = StandingQuestion(watchlist.action, f"watchlist:{watchlist.id}", None)
    asked = [(question, item.identifier) for item, _ in changed]
    # Several at once: one batch signature (each alert keeps its whole receipt, nothing shared to keep).
    # The rows give each answer as stored (without its receipt), the answers their receipts.
    checks: list[CheckRow] = []
    answered = answer_checks(
        principal, asked, {today: facts}, {today: rule_set}, names, today, checks.append,
        signed_together=len(asked) > 1, evaluated=[now.evaluation for _, now in changed],
    )  # fmt: skip
    at = utcnow()
    delivery_ids = iter(new_id_texts(len(changed)))  # time-ordered: the deliveries' listing order
    # Pushed only while the client that asked for them may still read them (app.auth: revoked).
    push = bool(watchlist.callback_url) and client_is_active(watchlist.client_id)
    handoff: Handoff | None = session.info.get(HANDOFF) if push else None
    # Ids as text: what COPY writes and the webhook's body shows (UUID objects only cost conversions).
    watchlist_id = str(watchlist.id)
    alerts, deliveries, updates = [], [], []
    for (item, now), check, answer in zip(changed, checks, answered, strict=True):
        event, record_id = cause_of(item.identifier)
        alert_id = check.id
        alerts.append(
            {
                "id": alert_id,
                "watchlist_id": watchlist_id,
                "identifier": item.identifier,
                "event": event,
                "decision_before": item.decision,
                "decision_after": now.decision,
                "record_id": record_id or None,
                "at": at,
                "answer": check.answer.decode(),
                "receipt": answer.receipt.decode(),
            }
        )
        if push:
            deliveries.append(
                {
                    "id": next(delivery_ids),
                    "watchlist_id": watchlist_id,
                    "alert_id": alert_id,
                    "status": "pending",
                    "attempts": 1 if handoff else 0,
                    "next_attempt_at": handoff.until if handoff else at,
                    "created_at": at,
                }
            )
        updates.append((item.identifier, now.decision, now.fingerprint))
    before = (session.scalar(select(func.max(Alert.seq))) or 0) if handoff is not None else 0
    bulk_insert(session, Alert, alerts)
    bulk_insert(session, Delivery, deliveries)
    if handoff is not None:
        _hand_off(session, handoff, alerts, deliveries, watchlist, before)
    elif deliveries:
        wake.after_commit(session)
    _store_known(session, watchlist.id, updates, at)
    return len(alerts)


def _hand_off(
    session: Session,
    handoff: Handoff,
    alerts: list[dict[str, Any]],
    deliveries: list[dict[str, Any]],
    watchlist: Watchlist,
    before: int,
) -> None:
    """The deliveries just written, for the worker to send itself; their alerts' numbers (the feed's
    cursor, which the body carries) read back: those of the watchlist's alerts numbered after
    `before` (alerts are written by one maker at a time: these are the ones just written)."""
    numbers = {
        str(alert_id): seq
        for alert_id, seq in session.execute(
            select(Alert.id, Alert.seq).where(Alert.watchlist_id == watchlist.id, Alert.seq > before)
        )
    }
    url, secret = watchlist.callback_url or "", watchlist.secret or ""
    for alert, delivery in zip(alerts, deliveries, strict=True):
        row = SimpleNamespace(**alert, seq=numbers[alert["id"]])
        handoff.made.append((delivery["id"], row, url, secret))


def _store_known(
    session: Session, watchlist_id: uuid.UUID, updates: list[tuple[str, str, str]], at: datetime
) -> None:
    """The new answers as the ones last known: one statement (PostgreSQL: the values as arrays)."""
    table = WatchItem.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE watch_items AS w SET decision = v.decision, fingerprint = v.fingerprint, "
                "updated_at = :at FROM unnest(CAST(:identifiers AS text[]), CAST(:decisions AS text[]), "
                "CAST(:fingerprints AS text[])) AS v(identifier, decision, fingerprint) "
                "WHERE w.watchlist_id = :watchlist AND w.identifier = v.identifier"
            ),
            {
                "at": at,
                "watchlist": watchlist_id,
                "identifiers": [u[0] for u in updates],
                "decisions": [u[1] for u in updates],
                "fingerprints": [u[2] for u in updates],
            },
        )
        return
    session.connection().execute(
        update(table)  # type: ignore[arg-type]
        .where(table.c.watchlist_id == watchlist_id, table.c.identifier == bindparam("i"))
        .values(decision=bindparam("d"), fingerprint=bindparam("f"), updated_at=at),
        [{"i": identifier, "d": decision, "f": fingerprint} for identifier, decision, fingerprint in updates],
    )
