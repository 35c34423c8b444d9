"""Screening by name (POST /v1/screen): an approver who knows a counterparty only by name learns which
listed subjects it may be, best first, each with a score, what matched, and its records in force.

    name → the search index's candidates among subjects a record in force reaches (their own, or an
    organisation's naming them) → every name each candidate has carried, scored (app.screening.match)
    → the best `limit` → their records, as a check shows them → logged and receipted → answer

Records are shown as checks show them (app.checks.engine): another agency's restricted record shows
its domain, list and measures, not the document (国办发〔2020〕49号, a limited circle); a subject that
only such records name is answered without its name. A resident identity number is always masked:
screening by name never tells an approver a person's number (it checks one it holds with
POST /v1/checks).
"""

import hashlib
import uuid
from datetime import date
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import access
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.catalog import service as catalog
from app.checks.engine import Facts, InForce, Viewer, facts_from_rows, record_view
from app.config import get_settings
from app.db import new_id
from app.errors import Forbidden, NotFound, ValidationFailed
from app.keys import get_keyring
from app.kit.clock import china_today, utcnow
from app.kit.identifiers import IdentifierError, recognize
from app.kit.masking import is_resident_id, mask_resident_id
from app.kit.names import LEGAL_FORMS, fold
from app.records import repository, search_index
from app.rules import service as rules
from app.rules.schemas import ACTIONS
from app.rules.service import RuleSet
from app.screening import match
from app.screening.models import Screening
from app.screening.schemas import ScreenIn

RECEIPT_TYPE = "registry-screening-receipt"  # one of app.checks.receipts.RECEIPT_TYPES
RECEIPT_FORMAT = 1
MIN_NAME = 2
PERSON = "natural_person"


def _is_identifier(text: str) -> bool:
    """Shaped like a resident identity number (valid or not), or a valid code of either standard."""
    if is_resident_id(text):
        return True
    try:
        recognize(text)
    except IdentifierError:
        return False
    return True


def _group(kind: str) -> str:
    return "person" if kind == PERSON else "organisation"


def _measures(record: InForce, rule_set: RuleSet) -> tuple[str, ...]:
    """Every measure the record triggers, whatever the approver is about to do."""
    found: dict[str, None] = {}
    for action in ACTIONS:
        for rule in rule_set.matching(
            action, record.domain, record.list_type, record.severity, record.reaches
        ):
            found[rule.measure] = None
    return tuple(found)


def _state_digest(rule_set: RuleSet, facts: list[Facts]) -> str:
    state = sorted(f"{r.id}:{r.version}:{int(r.under_objection)}" for f in facts for r in f.records)
    return hashlib.sha256("\n".join([rule_set.digest, *state]).encode()).hexdigest()


def _scored(
    connection: Any, query: match.Name, body: ScreenIn, today: date
) -> list[tuple[float, list[str], str | None, tuple[Any, ...]]]:
    """(score, matched, the name that matched when a former one, subject row), best first."""
    wanted = search_index.wanted(query.core)
    found = search_index.candidates(
        connection, wanted, today, enough=2 * body.limit, scope=search_index.LISTED
    )
    subject_ids = list(dict.fromkeys(candidate.subject_id for candidate in found))
    subjects = {row[0]: row for row in repository.subjects_by_ids(connection, subject_ids)}
    best: dict[uuid.UUID, tuple[float, list[str], str | None]] = {}
    for subject_id, key, name in search_index.names_of(connection, subject_ids):
        subject = subjects.get(subject_id)
        if subject is None or (body.kind is not None and _group(subject[1]) != _group(body.kind)):
            continue
        score, matched = match.name_score(query, match.prepare(name))
        former = key != search_index.index_key(subject[2])
        if former:
            matched = [*matched, "former_name"]
        if subject[1] == PERSON:
            score, matched = match.birth_date_score(score, matched, body.birth_date, subject[5])
        if subject_id not in best or score > best[subject_id][0]:
            best[subject_id] = (score, matched, name if former else None)
    ranked = [
        (score, matched, former, subjects[subject_id])
        for subject_id, (score, matched, former) in best.items()
        if score >= match.SHOWN_FROM
    ]
    ranked.sort(key=lambda entry: (-entry[0], len(entry[3][2]), entry[3][2], str(entry[3][0])))
    return ranked[: body.limit]


def screen(session: Session, principal: Principal, body: ScreenIn) -> bytes:
    """Screen a name; the answer (JSON, receipt included) is logged before it is returned."""
    compact = "".join(body.name.split()).upper()
    if _is_identifier(compact):
        # A code is checked, not screened: a name search over codes would confirm guessed numbers.
        raise ValidationFailed.one("name", "that is an identifier: check it with POST /v1/checks")
    query = match.prepare(body.name)
    if len(query.core) < MIN_NAME or fold(body.name) in LEGAL_FORMS:  # a bare legal form names nobody
        raise ValidationFailed.one(
            "name", f"give at least {MIN_NAME} characters of the name, not counting its legal form"
        )
    today = china_today()
    connection = session.connection()
    ranked = _scored(connection, query, body, today)
    identifiers = [row[4] for _, _, _, row in ranked]
    known = facts_from_rows(
        repository.read_in_force(connection, identifiers, today) if identifiers else [],
        repository.SUBJECT_WIDTH,
    )
    rule_set = rules.rule_set(session, today)
    cached = catalog.cached_agency_names()
    names = cached if cached is not None else catalog.agency_names(session)
    viewer = Viewer(principal.agency_code, sees_all=principal.has(Scope.admin))
    candidates: list[dict[str, Any]] = []
    for score, matched, former, (subject_id, kind, name, identifier_type, identifier, _) in ranked:
        facts = known.get(identifier)
        records = facts.records if facts else []
        shown = [viewer.sees_document(record) for record in records]
        named = not records or any(shown)
        candidates.append(
            {
                "subject": {
                    "id": str(subject_id),
                    "kind": kind,
                    "name": name if named else None,
                    "identifier_type": identifier_type,
                    "identifier": mask_resident_id(identifier)
                    if identifier_type == "resident_id"
                    else identifier,
                },
                "score": score,
                "match": score >= match.THRESHOLD,
                "matched": matched,
                "matched_name": former if named else None,
                "records": [
                    record_view(record, _measures(record, rule_set), names, document)
                    for record, document in zip(records, shown, strict=True)
                ],
            }
        )
    screening_id, now = new_id(), utcnow()
    answer = {
        "id": str(screening_id),
        "name": body.name,
        "kind": body.kind,
        "birth_date": body.birth_date.isoformat() if body.birth_date else None,
        "reference": body.reference,
        "threshold": match.THRESHOLD,
        "candidates": candidates,
        "screened_at": now.isoformat(),
    }
    state = _state_digest(rule_set, list(known.values()))
    issuer = get_settings().token_issuer
    receipt = get_keyring().sign_jws(
        {
            "typ": RECEIPT_TYPE,
            "format": RECEIPT_FORMAT,
            "iss": issuer,
            "screening_id": answer["id"],
            "agency": principal.agency_code,
            "name": body.name,
            "kind": body.kind,
            "birth_date": answer["birth_date"],
            "reference": body.reference,
            "threshold": match.THRESHOLD,
            "candidates": [[c["subject"]["id"], c["score"], c["match"]] for c in candidates],
            "screened_at": answer["screened_at"],
            "state": {"digest": state, "rules": rule_set.digest},
        }
    )
    stored = orjson.dumps(answer)
    top = candidates[0] if candidates else None
    session.add(
        Screening(
            id=screening_id,
            agency_code=principal.agency_code,
            client_id=principal.client_id,
            name=body.name,
            kind=body.kind,
            birth_date=body.birth_date,
            reference=body.reference,
            threshold=match.THRESHOLD,
            top_subject_id=uuid.UUID(top["subject"]["id"]) if top else None,
            top_score=top["score"] if top else None,
            matches=sum(1 for c in candidates if c["match"]),
            state_digest=state,
            answer=stored.decode(),
            receipt=receipt,
            screened_at=now,
        )
    )
    # Who looked (the access log oversight reads): every entity whose records the screening showed.
    for candidate in candidates:
        access.log(
            session,
            principal,
            "screening",
            action="screening",
            reference=body.reference,
            subject_id=uuid.UUID(candidate["subject"]["id"]),
        )
    session.flush()
    return b"".join((stored[:-1], b',"receipt":"', receipt.encode(), b'"}'))


def stored_screening(session: Session, principal: Principal, screening_id: uuid.UUID) -> dict[str, Any]:
    """A screening as it was answered, with its receipt: the approver's own agency, or an administrator."""
    row = session.scalars(select(Screening).where(Screening.id == screening_id)).first()
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    if row.agency_code != principal.agency_code and not principal.has(Scope.admin):
        raise Forbidden(f"screening {screening_id} was made by another agency")
    return dict(orjson.loads(row.answer)) | {
        "receipt": row.receipt,
        "agency": row.agency_code,
        "client_id": row.client_id,
    }


def list_screenings(
    session: Session, principal: Principal, agency: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The agency's own screenings, newest first (administrators: any agency's, or all)."""
    query = select(Screening)
    if not principal.has(Scope.admin):
        if agency is not None and agency != principal.agency_code:
            raise Forbidden("an agency sees its own screenings")
        agency = principal.agency_code
    if agency is not None:
        query = query.where(Screening.agency_code == agency)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Screening.screened_at.desc(), Screening.id).limit(limit).offset(offset)
    )
    items = [
        {
            "id": row.id,
            "agency": row.agency_code,
            "client_id": row.client_id,
            "name": row.name,
            "kind": row.kind,
            "birth_date": row.birth_date,
            "reference": row.reference,
            "threshold": row.threshold,
            "matches": row.matches,
            "top_score": row.top_score,
            "screened_at": row.screened_at,
        }
        for row in rows
    ]
    return items, total
