"""References the registry issues to organisations that have no code.

The Zaozhuang plan targets groups with no registration at all (枣文明委〔2019〕2号 二、15: illegal social
organisations, 非法社会组织), which have no unified social credit code (GB 32100-2015 codes are issued
on registration). An agency pushing one gives `identifier_type: "other"`, no identifier, and the
jurisdiction it operates in (GB/T 2260 code); the registry issues a reference on the first push and
answers with it. The next push of the same name in the same jurisdiction, by any agency, finds the
same reference, so two agencies listing one group converge on one subject. A name is compared
folded (width, traditional characters, punctuation), without its legal form and without the places
it begins with (the jurisdiction says where). References are never deleted, so never reused.
"""

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.db import bulk_insert
from app.kit.names import core, fold, trade
from app.records.models import IssuedReference
from app.records.schemas import SubjectIn

PREFIX = "R"


def name_key(name: str) -> str:
    stem = core(fold(name))
    return (trade(stem) or stem)[:200]


def same_unregistered(a: SubjectIn, b: SubjectIn) -> bool:
    """Two organisations without a code that would get one reference."""
    return a.jurisdiction == b.jurisdiction and name_key(a.name) == name_key(b.name)


def issued(session: Session, references: list[str]) -> set[str]:
    """Of these references, those the registry issued."""
    if not references:
        return set()
    rows = session.scalars(select(IssuedReference.reference).where(IssuedReference.reference.in_(references)))
    return set(rows)


def _new_reference(jurisdiction: str) -> str:
    # The jurisdiction, then 40 random bits: unguessable, and checked against every one issued
    # (app.kit.identifiers.REGISTRY_REFERENCE reads this shape).
    return f"{PREFIX}{jurisdiction}{secrets.token_hex(5).upper()}"


def assign(session: Session, givens: list[SubjectIn], actor: str, agency_code: str, now: datetime) -> None:
    """Give every subject pushed without an identifier its reference: the one issued before for its
    jurisdiction and name, or a new one (recorded and audited). Call under the writers' lock."""
    wanting = [given for given in givens if given.identifier is None]
    if not wanting:
        return
    keys = {(given.jurisdiction, name_key(given.name)) for given in wanting}
    jurisdictions = {jurisdiction for jurisdiction, _ in keys}
    names = {key for _, key in keys}
    issued = {
        (row.jurisdiction, row.name_key): row.reference
        for row in session.scalars(
            select(IssuedReference).where(
                IssuedReference.jurisdiction.in_(jurisdictions), IssuedReference.name_key.in_(names)
            )
        )
    }
    new_rows = []
    for given in wanting:
        assert given.jurisdiction is not None  # SubjectIn requires it without an identifier
        key = (given.jurisdiction, name_key(given.name))
        if key not in issued:
            reference = _new_reference(given.jurisdiction)
            while session.get(IssuedReference, reference) is not None:
                reference = _new_reference(given.jurisdiction)
            issued[key] = reference
            new_rows.append(
                {
                    "reference": reference,
                    "jurisdiction": given.jurisdiction,
                    "name_key": key[1],
                    "name": given.name,
                    "agency_code": agency_code,
                    "issued_at": now,
                }
            )
        given.identifier = issued[key]
    if new_rows:
        bulk_insert(session, IssuedReference, new_rows)
        audit.append(
            session,
            actor,
            [
                audit.Event(
                    "subject.reference_issued",
                    "subject",
                    row["reference"],
                    {"jurisdiction": row["jurisdiction"], "name": row["name"]},
                )
                for row in new_rows
            ],
        )
