"""Pushes: each record validated against the listing rules in Python, then written in set operations
(one query to find what exists, one multi-row insert per table, one audit append for the batch), all
in the request's transaction.
"""

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.catalog import service as catalog
from app.db import bulk_insert, column_in, random_ids, serialize_writers, time_ordered_ids
from app.errors import Forbidden, RegistryError, ValidationFailed, pydantic_fields
from app.kit.clock import china_date, china_today, utcnow
from app.kit.identifiers import ADULT_AGE, minor_on, resident_id_birth_date
from app.kit.workdays import CalendarUnknown, WorkdayCalendar
from app.records import merge, references, search_index
from app.records.errors import ExternalIdConflict, MinorSubject, NoticeRequired
from app.records.history import SubjectFacts, facts_of, snapshot
from app.records.models import Record, RecordParty, Subject
from app.records.publicity import PublicityRules, publicity_rules
from app.records.schemas import RecordIn, SubjectIn

# 文明委〔2020〕6号 and the 7-day rule for publishing licensing and penalty decisions (双公示).
DISCLOSURE_WORKDAYS = 7


# 国办发〔2020〕49号 (八): before a serious black listing the subject is told the reasons, basis and
# rights and given a time to state a defence (陈述申辩). The registry's default period, in working days.
STATEMENT_WORKDAYS = 5


def statement_workdays(domain: str) -> int:
    """The statement period of a listing in `domain` (one default until a domain's rules set another)."""
    return STATEMENT_WORKDAYS


@dataclass
class IngestContext:
    agency_code: str
    actor: str
    today: date
    now: datetime
    domains: set[str]
    agency_domains: set[str]
    court: bool  # the pushing agency is a people's court
    calendar: WorkdayCalendar
    publicity: PublicityRules
    # decision_date -> the last day a push counts as timely, memoized across a batch
    disclosure_deadlines: dict[date, date] = field(default_factory=dict)
    # New records' ids: time-ordered, so that a batch's rows sit together at the end of the primary
    # key's index instead of on a random page each.
    ids: Iterator[uuid.UUID] = field(default_factory=time_ordered_ids)
    # Subjects' ids are their public `ref`: random, so that a ref tells nothing of when it was made.
    subject_ids: Iterator[uuid.UUID] = field(default_factory=random_ids)


def ingest_context(session: Session, principal: Principal) -> IngestContext:
    return IngestContext(
        agency_code=principal.agency_code,
        actor=principal.actor,
        today=china_today(),
        now=utcnow(),
        domains=catalog.domain_codes(session),
        agency_domains=catalog.agency_domains(session, principal.agency_code),
        court=catalog.is_court(session, principal.agency_code),
        calendar=catalog.workday_calendar(session),
        publicity=publicity_rules(session),
    )


@dataclass(frozen=True)
class Resolved:
    """A valid push with everything the registry derives from it."""

    item: RecordIn
    publicity_end: date | None
    visibility: str
    status: str
    late_disclosure: bool | None
    calendar_note: str | None
    birth_date: date | None
    content_hash: str
    # Why a new listing of this record would be refused for want of a notice (a record already
    # stored is still recognized as the same push: the rule is about listing, not about retries).
    notice_error: NoticeRequired | None = None


@dataclass(frozen=True)
class FromNotice:
    """A listing finalized from a registry notice (app.notices): the subject was told in the registry."""

    notice_id: uuid.UUID
    # The agency gave the registry the listing on this day; the statement period that followed does
    # not make the push late.
    notified_on: date
    # The listing as the agency notified it, before the decision date was set at finalizing: what a
    # retried push of that body is recognized by.
    as_notified: RecordIn | None = None


def default_visibility(severity: str) -> str:
    """Who sees a record its agency gave no visibility: 国办发〔2025〕22号, minor lapses are not
    published unless the agency decides to; the others are."""
    return "shared" if severity == "minor" else "public"


def resolve(item: RecordIn, ctx: IngestContext, received_on: date, notified: bool = False) -> Resolved:
    """Apply the listing rules to one record; raises the RegistryError that says what is wrong.
    `notified`: the subject was told through a registry notice, so no notice is asked for."""
    if item.domain not in ctx.domains:
        raise ValidationFailed.one(
            "domain", f"unknown domain {item.domain!r}; the codes are listed at /v1/domains"
        )
    if item.domain not in ctx.agency_domains:
        raise Forbidden(f"agency {ctx.agency_code} holds no role in domain {item.domain} under any plan")
    if item.domain == COURT_DOMAIN and not ctx.court:
        # 法释〔2017〕7号 第一条: people's courts list those who do not perform a judgment, by their own
        # procedure (no registry notice, a listing until performance, persons published). The plan's
        # other units in this domain apply the sanctions (文明委〔2020〕6号 二、8); they do not list.
        raise Forbidden(
            f"court listings ({COURT_DOMAIN}) are made by people's courts (法释〔2017〕7号 第一条); "
            f"agency {ctx.agency_code} applies their sanctions through checks"
        )
    if item.decision_date > ctx.today:
        raise ValidationFailed.one(
            "decision_date", f"{item.decision_date} is in the future (today is {ctx.today})"
        )

    birth_date = None
    if item.subject.identifier_type == "resident_id":
        birth_date = resident_id_birth_date(item.subject.known_identifier)  # already validated
        # Minors may not be blacklisted (法释〔2017〕7号; the seed plans ask for education instead).
        if item.list_type in ("black", "focus") and minor_on(birth_date, item.decision_date):
            raise MinorSubject(
                f"the subject was not yet of full age ({ADULT_AGE}) on the decision date "
                f"{item.decision_date}; "
                "minors may not be put on a black or focus list"
            )

    _check_related(item)
    publicity_end = _publicity_end(item, ctx)
    visibility = item.visibility or default_visibility(item.severity)
    # Historical backfill: a period already over is stored as exited.
    status = "expired" if publicity_end is not None and publicity_end < ctx.today else "active"
    late, note = _late_disclosure(ctx, item.decision_date, received_on)
    notice_error = None if notified else _notice_missing(item, ctx, received_on)

    content_hash = _content_hash(item, publicity_end, visibility)
    return Resolved(
        item, publicity_end, visibility, status, late, note, birth_date, content_hash, notice_error
    )


def _content_hash(item: RecordIn, publicity_end: date | None, visibility: str) -> str:
    """What recognizes a push again: its fields and the period and visibility it was stored with.
    Fields left out are left out of the hash, so that a retried push of a record stored before a
    field existed is still recognized as the same push."""
    effective = item.model_dump(mode="json", exclude_none=True) | {
        "publicity_end": publicity_end.isoformat() if publicity_end else None,
        "visibility": visibility,
    }
    return hashlib.sha256(audit.canonical_json(effective).encode()).hexdigest()


def _same_push(resolved: Resolved, prior: "_Stored") -> bool:
    """Whether a push repeats the record stored under its external id. A push that gives no end
    date repeats it with the end the registry derived when it was stored: an administrator may have
    changed the default period since (API.md: the same body again → 200)."""
    if prior.content_hash == resolved.content_hash:
        return True
    return resolved.item.publicity_end is None and prior.content_hash == _content_hash(
        resolved.item, prior.publicity_end, resolved.visibility
    )


COURT_DOMAIN = "court_judgments"


def _givens(item: RecordIn) -> list[SubjectIn]:
    """The subject and the related parties a record names."""
    return [item.subject, *(party.subject for party in item.related or [])]


def _check_related(item: RecordIn) -> None:
    """The people named behind a record: not the subject itself, each role once, and no minor where
    the record is a sanction (the minors rule holds for them as for subjects)."""
    seen: set[tuple[str, str]] = set()

    def same(a: SubjectIn, b: SubjectIn) -> bool:  # an organisation without a code: by its reference's key
        if a.identifier is None and b.identifier is None:
            return references.same_unregistered(a, b)
        return a.identifier == b.identifier

    for index, party in enumerate(item.related or []):
        field = f"related[{index}].subject.identifier"
        if same(party.subject, item.subject):
            raise ValidationFailed.one(field, "the record's subject is not a party related to itself")
        key = (
            party.subject.identifier
            or f"{party.subject.jurisdiction}:{references.name_key(party.subject.name)}"
        )
        if (key, party.role) in seen:
            raise ValidationFailed.one(field, f"named twice as {party.role}")
        seen.add((key, party.role))
        if party.subject.identifier_type == "resident_id" and item.list_type in ("black", "focus"):
            born = resident_id_birth_date(party.subject.known_identifier)
            if minor_on(born, item.decision_date):
                raise MinorSubject(
                    f"related[{index}] was not yet of full age ({ADULT_AGE}) on the decision date "
                    f"{item.decision_date}; "
                    "sanctions do not reach minors",
                    fields=[{"field": f"related[{index}]", "detail": "under 18 on the decision date"}],
                )


def _publicity_end(item: RecordIn, ctx: IngestContext) -> date | None:
    """The record's last published day, checked against its policy; None: no fixed end."""
    if item.listing_basis is not None and item.domain != COURT_DOMAIN:
        raise ValidationFailed.one(
            "listing_basis", f"only court listings ({COURT_DOMAIN}) have a listing basis"
        )
    if item.performance is not None and item.domain != COURT_DOMAIN:
        raise ValidationFailed.one(
            "performance", f"only court listings ({COURT_DOMAIN}) record the performance of a judgment"
        )
    policy = ctx.publicity.policy_for(item.domain, item.severity, item.list_type)
    earliest, latest = policy.bounds(item.decision_date)
    if item.listing_basis == "refuses_despite_ability":
        # 法释〔2017〕7号 第二条: the other grounds carry 2 years; this one none, until performed.
        if item.publicity_end is None:
            return None
        earliest = item.decision_date
    publicity_end = item.publicity_end or policy.default_end(item.decision_date)
    earliest = max(earliest, item.decision_date + timedelta(days=1))
    if not earliest <= publicity_end <= latest:
        kind = "red record" if item.list_type == "red" else f"{item.severity} record"
        raise ValidationFailed.one(
            "publicity_end",
            f"a {kind} in {item.domain} decided on {item.decision_date} is published "
            f"until a day between {earliest} and {latest}",
        )
    return publicity_end


def _notice_missing(item: RecordIn, ctx: IngestContext, received_on: date) -> NoticeRequired | None:
    """国办发〔2020〕49号 (八): a serious black listing comes after the subject was told and its time to
    state a defence has passed. Court listings follow the court's own procedure (法释〔2017〕7号)."""
    if item.list_type != "black" or item.severity != "serious" or item.domain == COURT_DOMAIN:
        return None
    period = statement_workdays(item.domain)
    if item.notice is None:
        return NoticeRequired(
            "a serious black listing must be preceded by a notice to the subject (国办发〔2020〕49号): "
            f"give the notice you served, served at least {period} working days before this push "
            '("notice": {"document_no", "served_on"}), or notify through POST /v1/notices'
        )
    served_on = item.notice.served_on
    if served_on > received_on:
        raise ValidationFailed.one(
            "notice.served_on", f"{served_on} is in the future (today is {received_on})"
        )
    # The notice comes before the decision to list (国办发〔2020〕49号 (八): 认定前告知); its time to
    # state a defence runs out before the push (API.md, Second release).
    if served_on > item.decision_date:
        raise ValidationFailed.one(
            "notice.served_on",
            f"served on {served_on}, after the listing decision of {item.decision_date}: the notice "
            "must precede the decision (国办发〔2020〕49号 (八))",
        )
    # The decision itself comes after the subject was heard: once the statement period is over (the
    # push, made after the decision, then is too). Without a calendar: `period` working days always
    # fit in this many calendar days (each 5 in a week, plus two weeks for the longest run of
    # statutory days off, the Spring Festival's 9).
    if (item.decision_date - served_on).days > 7 * -(-period // 5) + 14:
        return None
    try:
        period_ends = ctx.calendar.add_workdays(served_on, period)
    except CalendarUnknown as exc:
        return NoticeRequired(
            f"cannot tell whether the statement period of the notice served on {served_on} is over: {exc}"
        )
    if period_ends >= item.decision_date:
        return NoticeRequired(
            f"notice {item.notice.document_no} served on {served_on} gives the subject until {period_ends} "
            f"to state a defence ({period} working days): a listing decided on {item.decision_date} came "
            f"before the subject was heard; the decision may be made from {period_ends + timedelta(days=1)}",
            statement_period_ends=period_ends.isoformat(),
        )
    return None


def check_listing(session: Session, principal: Principal, item: RecordIn) -> Resolved:
    """A listing validated as its push would be, without storing it and without asking for a notice:
    what a registry notice announces (app.notices). Its external_id must still be free."""
    ctx = ingest_context(session, principal)
    resolved = resolve(item, ctx, ctx.today, notified=True)
    prior = _existing_by_external_id(session, ctx.agency_code, [item.external_id]).get(item.external_id)
    if prior is not None:
        raise ExternalIdConflict(
            f"external_id {item.external_id!r} is already record {prior[0]} of this agency; "
            "a notice announces a listing not yet made"
        )
    serialize_writers(session)
    references.assign(session, _givens(item), ctx.actor, ctx.agency_code, ctx.now)
    identifier = item.subject.known_identifier
    known = _subjects_by_identifier(session, {identifier}).get(identifier)
    if known is not None and known.identifier_type != item.subject.identifier_type:
        raise ValidationFailed.one(
            "subject.identifier_type",
            f"identifier {item.subject.identifier} is registered as {known.identifier_type}",
        )
    return resolved


def _late_disclosure(
    ctx: IngestContext, decision_date: date, received_on: date
) -> tuple[bool | None, str | None]:
    # Seven working days span at least seven calendar days: no calendar needed inside that.
    if (received_on - decision_date).days <= DISCLOSURE_WORKDAYS:
        return False, None
    try:
        deadline = ctx.disclosure_deadlines.get(decision_date)
        if deadline is None:
            deadline = ctx.calendar.add_workdays(decision_date, DISCLOSURE_WORKDAYS)
            ctx.disclosure_deadlines[decision_date] = deadline
    except CalendarUnknown as exc:
        return None, f"timeliness unknown: {exc}"
    return received_on > deadline, None


@dataclass
class Outcome:
    index: int
    status: str  # created | unchanged | error
    id: uuid.UUID | None = None
    error: RegistryError | None = None


@dataclass
class _SubjectState:
    id: uuid.UUID
    identifier: str  # the subject's own (for a merged identifier: the one it was merged into)
    identifier_type: str
    name: str
    kind: str
    birth_date: date | None
    # The subject this identifier itself names, when it was merged into `id` (app.records.merge):
    # what is pushed under it goes back with the merge's undoing.
    merged_from: uuid.UUID | None = None


def ingest(
    session: Session, principal: Principal, raw_items: list[Any], from_notice: FromNotice | None = None
) -> list[Outcome]:
    """Store every valid item; report each bad one by index. Retried pushes are recognized."""
    ctx = ingest_context(session, principal)
    received_on = from_notice.notified_on if from_notice is not None else china_date(ctx.now)
    outcomes: dict[int, Outcome] = {}
    valid: list[tuple[int, Resolved]] = []
    for index, raw in enumerate(raw_items):
        try:
            item = raw if isinstance(raw, RecordIn) else RecordIn.model_validate(raw)
            resolved = resolve(item, ctx, received_on, notified=from_notice is not None)
            if from_notice is not None and from_notice.as_notified is not None:
                pushed = _content_hash(from_notice.as_notified, resolved.publicity_end, resolved.visibility)
                resolved = replace(resolved, content_hash=pushed)
            valid.append((index, resolved))
        except ValidationError as exc:
            outcomes[index] = Outcome(index, "error", error=ValidationFailed(pydantic_fields(exc.errors())))
        except RegistryError as exc:
            outcomes[index] = Outcome(index, "error", error=exc)

    # Two pushes of the same record, or of two records of the same new subject, at once: the second
    # waits for the first to commit and then finds what it stored (200 unchanged, not a conflict).
    serialize_writers(session)
    # Organisations without a code: the reference issued before for their name and jurisdiction, or a new one.
    references.assign(
        session, [g for _, r in valid for g in _givens(r.item)], ctx.actor, ctx.agency_code, ctx.now
    )
    known = _existing_by_external_id(session, ctx.agency_code, [r.item.external_id for _, r in valid])
    subjects = _subjects_by_identifier(
        session,
        {given.known_identifier for _, r in valid for given in _givens(r.item)},
    )
    new_subjects: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    renamed: dict[uuid.UUID, str] = {}
    records: list[dict[str, Any]] = []
    under_merged: list[merge.Pushed] = []
    named_by: dict[uuid.UUID, SubjectFacts] = {}  # record id -> what its snapshot names of its subject
    for index, resolved in valid:
        item = resolved.item
        prior = known.get(item.external_id)
        if prior is not None:
            prior_id = prior.id
            if _same_push(resolved, prior):
                outcomes[index] = Outcome(index, "unchanged", id=prior_id)
            else:
                outcomes[index] = Outcome(
                    index,
                    "error",
                    error=ExternalIdConflict(
                        f"external_id {item.external_id!r} was already pushed by this agency with "
                        f"different content (record {prior_id}); correct it with PATCH /v1/records/{prior_id}"
                    ),
                )
            continue
        if resolved.notice_error is not None:
            outcomes[index] = Outcome(index, "error", error=resolved.notice_error)
            continue
        givens = [("subject", item.subject)]
        givens += [(f"related[{i}].subject", party.subject) for i, party in enumerate(item.related or [])]
        clash = next(
            (
                (field, given, subjects[given.known_identifier])
                for field, given in givens
                if given.known_identifier in subjects
                and subjects[given.known_identifier].identifier_type != given.identifier_type
            ),
            None,
        )
        if clash is not None:
            field, given, known_as = clash
            outcomes[index] = Outcome(
                index,
                "error",
                error=ValidationFailed.one(
                    f"{field}.identifier_type",
                    f"identifier {given.identifier} is registered as {known_as.identifier_type}",
                ),
            )
            continue
        placed = [
            _place(given, subjects, new_subjects, renamed, resolved.visibility, ctx) for _, given in givens
        ]
        subject, related_subjects = placed[0], placed[1:]
        record_id = next(ctx.ids)
        if subject.merged_from is not None:
            under_merged.append(merge.Pushed(subject.merged_from, record_id))
        under_merged += [
            merge.Pushed(state.merged_from, record_id, party.role)
            for party, state in zip(item.related or [], related_subjects, strict=True)
            if state.merged_from is not None
        ]
        parties += [
            {"record_id": record_id, "subject_id": state.id, "role": party.role, "name": party.subject.name}
            for party, state in zip(item.related or [], related_subjects, strict=True)
        ]
        notice_id = from_notice.notice_id if from_notice is not None else None
        records.append(_record_row(record_id, subject.id, resolved, ctx, notice_id))
        named_by[record_id] = facts_of(subject)
        known[item.external_id] = _Stored(record_id, resolved.content_hash, resolved.publicity_end)
        outcomes[index] = Outcome(index, "created", id=record_id)

    if new_subjects:
        bulk_insert(session, Subject, new_subjects)
        # Findable by the public search from the moment the subject exists (same transaction).
        search_index.index_names(
            session, [(row["id"], row["name"]) for row in new_subjects], new_subjects=True
        )
    if renamed:
        session.execute(
            update(Subject),
            [{"id": sid, "name": name, "updated_at": ctx.now} for sid, name in renamed.items()],
        )
        search_index.index_names(session, list(renamed.items()))
    if records:
        bulk_insert(session, Record, records)
        bulk_insert(session, RecordParty, parties)
        named: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for party in parties:
            named.setdefault(party["record_id"], []).append(
                {"role": party["role"], "subject_id": str(party["subject_id"]), "name": party["name"]}
            )
        events = [
            audit.Event(
                "record.created",
                "record",
                str(r["id"]),
                snapshot(r, named_by[r["id"]]) | ({"related": named[r["id"]]} if r["id"] in named else {}),
            )
            for r in records
        ]
        audit.append(session, ctx.actor, events)
        merge.note_pushed(session, under_merged)
    return [outcomes[index] for index in range(len(raw_items))]


def _place(
    given: SubjectIn,
    subjects: dict[str, "_SubjectState"],
    new_subjects: list[dict[str, Any]],
    renamed: dict[uuid.UUID, str],
    visibility: str,
    ctx: IngestContext,
) -> "_SubjectState":
    """The subject an identifier names: known, or new (then stored with the batch). A known subject
    takes the name the push gives it, but never from a restricted record, whose name stays within its
    circle (国办发〔2020〕49号); earlier records keep the names they were pushed under."""
    identifier = given.known_identifier
    state = subjects.get(identifier)
    if state is None:
        birth_date = resident_id_birth_date(identifier) if given.identifier_type == "resident_id" else None
        state = subjects[identifier] = _SubjectState(
            next(ctx.subject_ids), identifier, given.identifier_type, given.name, given.kind, birth_date
        )
        new_subjects.append(
            {
                "id": state.id,
                "identifier": identifier,
                "identifier_type": given.identifier_type,
                "kind": given.kind,
                "name": given.name,
                "birth_date": birth_date,
                "created_at": ctx.now,
                "updated_at": ctx.now,
            }
        )
    elif state.name != given.name and visibility != "restricted" and state.merged_from is None:
        # (A push under a merged identifier names the merged entity: its name is already one of
        # the surviving subject's, and does not replace it.)
        state.name = given.name
        renamed[state.id] = given.name
    return state


def _record_row(
    record_id: uuid.UUID,
    subject_id: uuid.UUID,
    resolved: Resolved,
    ctx: IngestContext,
    notice_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    item = resolved.item
    return {
        "id": record_id,
        "agency_code": ctx.agency_code,
        "external_id": item.external_id,
        "domain_code": item.domain,
        "list_type": item.list_type,
        "severity": item.severity,
        "subject_id": subject_id,
        "subject_name": item.subject.name,
        "conduct": item.conduct,
        "decision_no": item.decision_no,
        "decision_date": item.decision_date,
        "legal_basis": item.legal_basis,
        "publicity_start": item.decision_date,
        "publicity_end": resolved.publicity_end,
        "visibility": resolved.visibility,
        "listing_basis": item.listing_basis,
        "performance": item.performance,
        "status": resolved.status,
        "version": 1,
        "under_objection": False,
        "late_disclosure": resolved.late_disclosure,
        "calendar_note": resolved.calendar_note,
        "received_at": ctx.now,
        "updated_at": ctx.now,
        "exited_at": ctx.now if resolved.status == "expired" else None,
        "exit_reason": "publicity period already over when received"
        if resolved.status == "expired"
        else None,
        "exit_decision_no": None,
        "exit_sync_by": None,
        "content_hash": resolved.content_hash,
        "notice_id": notice_id,
        "notice_document_no": item.notice.document_no if item.notice else None,
        "notice_served_on": item.notice.served_on if item.notice else None,
    }


class _Stored(NamedTuple):
    """A record already stored under an external id, as a push is compared with it."""

    id: uuid.UUID
    content_hash: str
    publicity_end: date | None


def _existing_by_external_id(
    session: Session, agency_code: str, external_ids: list[str]
) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    unique = sorted(set(external_ids))
    for start in range(0, len(unique), 5000):
        chunk = unique[start : start + 5000]
        rows = session.execute(
            select(Record.external_id, Record.id, Record.content_hash, Record.publicity_end).where(
                Record.agency_code == agency_code, column_in(session, Record.external_id, chunk)
            )
        )
        found.update({row.external_id: _Stored(row.id, row.content_hash, row.publicity_end) for row in rows})
    return found


def _subjects_by_identifier(session: Session, identifiers: set[str]) -> dict[str, _SubjectState]:
    found: dict[str, _SubjectState] = {}
    merged: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}  # identifier -> (its subject, merged into)
    unique = sorted(identifiers)
    for start in range(0, len(unique), 5000):
        chunk = unique[start : start + 5000]
        rows = session.execute(
            select(
                Subject.identifier,
                Subject.id,
                Subject.identifier_type,
                Subject.name,
                Subject.kind,
                Subject.birth_date,
                Subject.merged_into,
            ).where(column_in(session, Subject.identifier, chunk))
        )
        for row in rows:
            found[row.identifier] = _SubjectState(
                row.id, row.identifier, row.identifier_type, row.name, row.kind, row.birth_date
            )
            if row.merged_into is not None:
                merged[row.identifier] = (row.id, row.merged_into)
    if merged:
        # A subject merged into another (app.records.merge): a push naming it reaches the other.
        targets = {
            row.id: row
            for row in session.execute(
                select(Subject.id, Subject.identifier, Subject.name, Subject.kind, Subject.birth_date).where(
                    Subject.id.in_({into for _, into in merged.values()})
                )
            )
        }
        for identifier, (own, target) in merged.items():
            found[identifier] = _SubjectState(
                target,
                targets[target].identifier,
                found[identifier].identifier_type,
                targets[target].name,
                targets[target].kind,
                targets[target].birth_date,
                merged_from=own,
            )
    return found
