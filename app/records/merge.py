"""Merging two subjects found to be the same entity, and undoing it.

Two agencies may have listed one organisation under two identifiers (an invented one and its code
found later, or two references issued for one group under two spellings). An administrator merges
one subject (`from`) into the other (`into`): every record of `from` and every record naming it as a
related party then names `into`; `from` stays, marked merged, and its identifier leads to `into` for
checks, pushes and the public lookup. Nothing is deleted: each record moved gets an audit event
carrying its state after the move (its history shows the merge), the merge itself is audited with
what it moved, and undoing it moves back exactly those rows, with the records (and related-party
rows) pushed since under the merged identifier: they name the merged entity, and a merge found
wrong must not leave them on the other one. Records pushed under the surviving identifier stay.
A subject is not merged into itself, nor across kinds (a person is not an organisation): 422.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.db import new_id, serialize_writers
from app.errors import NotFound, ValidationFailed
from app.kit.clock import utcnow
from app.kit.identifiers import minor_on
from app.records import search_index
from app.records.errors import AlreadyMerged, MergeUndone, MinorSubject
from app.records.history import snapshot, subject_facts
from app.records.models import Record, RecordParty, Subject, SubjectMerge, SubjectSearch


def _subject(session: Session, identifier: str, field: str) -> Subject:
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier.strip().upper())).first()
    if subject is None:
        subject = session.scalars(select(Subject).where(Subject.identifier == identifier.strip())).first()
    if subject is None:
        raise NotFound(f"{field}: no subject with identifier {identifier!r}")
    return subject


def _subject_out(subject: Subject) -> dict[str, Any]:
    return {
        "id": subject.id,
        "kind": subject.kind,
        "name": subject.name,
        "identifier_type": subject.identifier_type,
        "identifier": subject.identifier,
    }


def merge_out(session: Session, merge: SubjectMerge) -> dict[str, Any]:
    moved = orjson.loads(merge.moved)
    source, target = session.get(Subject, merge.from_subject_id), session.get(Subject, merge.into_subject_id)
    assert source is not None and target is not None
    return {
        "id": merge.id,
        "from": _subject_out(source),
        "into": _subject_out(target),
        "reason": merge.reason,
        "records": moved["records"],
        "parties": len(moved["parties"]) + len(moved["dropped"]),
        "merged_at": merge.merged_at,
        "merged_by": merge.actor,
        "undone_at": merge.undone_at,
        "undone_by": merge.undone_by,
    }


@dataclass(frozen=True)
class Pushed:
    """A record pushed under the identifier of a subject merged into another: as its subject
    (`role` None) or as a related party in `role`."""

    merged_subject: uuid.UUID
    record_id: uuid.UUID
    role: str | None = None


def note_pushed(session: Session, pushed: list[Pushed]) -> None:
    """Add what was pushed under merged identifiers to their merges' rows, to be moved back on undo."""
    if not pushed:
        return
    by_subject: dict[uuid.UUID, list[Pushed]] = {}
    for one in pushed:
        by_subject.setdefault(one.merged_subject, []).append(one)
    for subject_id, ones in by_subject.items():
        row = session.scalars(
            select(SubjectMerge).where(
                SubjectMerge.from_subject_id == subject_id, SubjectMerge.undone_at.is_(None)
            )
        ).one()
        moved = orjson.loads(row.moved)
        moved["records"] += [str(one.record_id) for one in ones if one.role is None]
        moved["parties"] += [[str(one.record_id), one.role] for one in ones if one.role is not None]
        row.moved = orjson.dumps(moved).decode()
    session.flush()


def _record_events(session: Session, record_ids: list[str], action: str, payload: dict[str, Any]) -> None:
    if not record_ids:
        return
    records = session.scalars(select(Record).where(Record.id.in_([uuid.UUID(r) for r in record_ids]))).all()
    named = subject_facts(session, records)
    audit.append(
        session,
        payload["actor"],
        [
            audit.Event(
                action,
                "record",
                str(record.id),
                snapshot(record, named[record.subject_id]) | {"merge_id": payload["merge_id"]},
            )
            for record in records
        ],
    )


def _refuse_sanctions_on_a_minor(session: Session, source: Subject, target: Subject) -> None:
    """The minors rule holds for a merge as for a push: no black or focus record, the subject's own or
    one naming it behind an organisation, may land on someone who was a minor on its decision date
    (法释〔2017〕7号; the seed plans ask for education instead). Both ways: the merged identifier
    leads to the survivor's records afterwards, and the survivor carries the merged one's."""
    for records_of, reaching in ((source, target), (target, source)):
        if reaching.birth_date is None:
            continue
        decided = session.execute(
            select(Record.id, Record.decision_date).where(
                Record.list_type.in_(("black", "focus")),
                (Record.subject_id == records_of.id)
                | Record.id.in_(select(RecordParty.record_id).where(RecordParty.subject_id == records_of.id)),
            )
        ).all()
        for record_id, decision_date in decided:
            if minor_on(reaching.birth_date, decision_date):
                raise MinorSubject(
                    f"record {record_id} (decided {decision_date}) would reach {reaching.identifier}, not "
                    "yet of full age then; sanctions do not reach minors"
                )


def merge(
    session: Session, actor: str, source_identifier: str, target_identifier: str, reason: str
) -> SubjectMerge:
    serialize_writers(session)
    source = _subject(session, source_identifier, "from")
    target = _subject(session, target_identifier, "into")
    if source.id == target.id:
        raise ValidationFailed.one("into", "a subject is not merged into itself")
    if source.kind != target.kind:
        raise ValidationFailed.one(
            "into", f"a {source.kind} is not merged into a {target.kind}: merges stay within one kind"
        )
    if source.merged_into is not None:
        raise AlreadyMerged(f"{source.identifier} was already merged; undo that merge first")
    if target.merged_into is not None:
        raise ValidationFailed.one(
            "into", f"{target.identifier} was itself merged: merge into the subject it was merged into"
        )
    if session.scalars(select(Subject.id).where(Subject.merged_into == source.id)).first() is not None:
        raise AlreadyMerged(
            f"other subjects were merged into {source.identifier}: a merge is one step, undo those first"
        )
    _refuse_sanctions_on_a_minor(session, source, target)
    now = utcnow()
    merge_id = new_id()
    record_ids = [str(r) for r in session.scalars(select(Record.id).where(Record.subject_id == source.id))]
    parties, dropped = [], []
    existing = {
        (str(record_id), role)
        for record_id, role in session.execute(
            select(RecordParty.record_id, RecordParty.role).where(RecordParty.subject_id == target.id)
        )
    }
    for party in session.scalars(select(RecordParty).where(RecordParty.subject_id == source.id)):
        if (str(party.record_id), party.role) in existing:
            dropped.append([str(party.record_id), party.role, party.name])
        else:
            parties.append([str(party.record_id), party.role])
    # The surviving subject is findable by every name the merged one carried.
    own_keys = set(session.scalars(select(SubjectSearch.folded).where(SubjectSearch.subject_id == target.id)))
    names = list(session.scalars(select(SubjectSearch.name).where(SubjectSearch.subject_id == source.id)))
    added = [row["folded"] for row in search_index.index_rows((target.id, name) for name in names)]
    added = [key for key in dict.fromkeys(added) if key not in own_keys]
    search_index.index_names(session, [(target.id, name) for name in names])

    session.execute(update(Record).where(Record.subject_id == source.id).values(subject_id=target.id))
    for record_id, role, _ in dropped:
        session.execute(
            delete(RecordParty).where(
                RecordParty.record_id == uuid.UUID(record_id),
                RecordParty.subject_id == source.id,
                RecordParty.role == role,
            )
        )
    session.execute(
        update(RecordParty).where(RecordParty.subject_id == source.id).values(subject_id=target.id)
    )
    source.merged_into, source.updated_at, target.updated_at = target.id, now, now
    row = SubjectMerge(
        id=merge_id,
        from_subject_id=source.id,
        into_subject_id=target.id,
        reason=reason,
        actor=actor,
        moved=orjson.dumps(
            {"records": record_ids, "parties": parties, "dropped": dropped, "search_keys": added}
        ).decode(),
        merged_at=now,
    )
    session.add(row)
    session.flush()
    payload = {
        "from": source.identifier,
        "into": target.identifier,
        "reason": reason,
        "records": record_ids,
        "parties": parties,
        "dropped": dropped,
    }
    audit.append(session, actor, [audit.Event("subject.merged", "subject", str(merge_id), payload)])
    named = [record_id for record_id, _ in parties] + [record_id for record_id, _, _ in dropped]
    _record_events(session, record_ids, "record.subject_merged", {"actor": actor, "merge_id": str(merge_id)})
    _record_events(
        session,
        [r for r in dict.fromkeys(named) if r not in record_ids],
        "record.party_merged",
        {"actor": actor, "merge_id": str(merge_id)},
    )
    return row


def undo(session: Session, actor: str, merge_id: uuid.UUID) -> SubjectMerge:
    """Move back exactly what the merge moved and what was pushed since under the merged identifier."""
    serialize_writers(session)
    row = session.get(SubjectMerge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    if row.undone_at is not None:
        raise MergeUndone(f"merge {merge_id} was already undone")
    moved = orjson.loads(row.moved)
    source, target = session.get(Subject, row.from_subject_id), session.get(Subject, row.into_subject_id)
    assert source is not None and target is not None
    now: datetime = utcnow()
    record_ids = [uuid.UUID(r) for r in moved["records"]]
    if record_ids:
        session.execute(
            update(Record)
            .where(Record.id.in_(record_ids), Record.subject_id == target.id)
            .values(subject_id=source.id)
        )
    for record_id, role in moved["parties"]:
        session.execute(
            update(RecordParty)
            .where(
                RecordParty.record_id == uuid.UUID(record_id),
                RecordParty.subject_id == target.id,
                RecordParty.role == role,
            )
            .values(subject_id=source.id)
        )
    for record_id, role, name in moved["dropped"]:
        session.add(RecordParty(record_id=uuid.UUID(record_id), subject_id=source.id, role=role, name=name))
    if moved["search_keys"]:
        session.execute(
            delete(SubjectSearch).where(
                SubjectSearch.subject_id == target.id, SubjectSearch.folded.in_(moved["search_keys"])
            )
        )
    # Names the merged entity was pushed under while merged were never the remaining subject's: its
    # own again, findable by them.
    if record_ids:
        pushed_names = session.scalars(
            select(Record.subject_name).distinct().where(Record.id.in_(record_ids))
        )
        search_index.index_names(session, [(source.id, name) for name in pushed_names])
    source.merged_into, source.updated_at, target.updated_at = None, now, now
    row.undone_at, row.undone_by = now, actor
    session.flush()
    payload = {"from": source.identifier, "into": target.identifier, "records": moved["records"]}
    audit.append(session, actor, [audit.Event("subject.merge_undone", "subject", str(merge_id), payload)])
    named = [r for r, _ in moved["parties"]] + [r for r, _, _ in moved["dropped"]]
    _record_events(
        session, moved["records"], "record.subject_unmerged", {"actor": actor, "merge_id": str(merge_id)}
    )
    _record_events(
        session,
        [r for r in dict.fromkeys(named) if r not in moved["records"]],
        "record.party_unmerged",
        {"actor": actor, "merge_id": str(merge_id)},
    )
    return row
