"""What the public may see of a subject: masked identity numbers, and only records in public force.

A record reaches the public only when it is active, `public`, inside its publicity period, on the
red or black list, and not about someone who was a minor on the decision date (国办发〔2020〕49号:
strict query permissions; 国办发〔2025〕22号: a minor lapse is shared, not published, unless its agency
chooses to publish it, for at most 3 months; 法释〔2017〕7号 and the seed plans: minors are educated,
not listed).

Everything the public sees of a subject comes from those records: a subject with none is not there
at all (the same 404 as an identifier never pushed), and its name is the one its latest decided record
in public force carries, so that no agency's shared or restricted push changes a public page.
A person is reached only through search and the opaque `ref` it answers with: looking a person up by
identity number would confirm a guessed number (API.md, Second release).
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from app.catalog import service as catalog
from app.kit.identifiers import is_uscc, minor_on, typed_code
from app.kit.masking import holds_resident_id, mask_identifier, mask_resident_ids
from app.records import repository

KIND_ZH = {
    "legal_person": "法人",
    "natural_person": "自然人",
    "other_org": "非法人组织",
    "individual_business": "个体工商户",
}
LIST_ZH = {"black": "黑名单", "red": "红名单"}
SEVERITY_ZH = {"general": "一般", "serious": "严重", "minor": "轻微"}


@dataclass(frozen=True)
class Names:
    """Agencies' and domains' Chinese names by code (the catalog's)."""

    agencies: dict[str, str]
    domains: dict[str, str]


def names(session: Session | Connection) -> Names:
    cached = catalog.cached_names()
    if cached is not None:
        return Names(*cached)
    return Names(catalog.agency_names(session), catalog.domain_names(session))


def scrub(text: str) -> str:
    """Mask any resident identity number an agency wrote into a free-text field."""
    return mask_resident_ids(text)


def about_a_minor(birth_date: date | None, decision_date: date) -> bool:
    return birth_date is not None and minor_on(birth_date, decision_date)


def lookup_statement(key: str) -> tuple[Any, dict[str, Any]] | None:
    """The statement and parameters for an organisation's full identifier or a subject reference;
    None for a key holding a resident identity number, which no public lookup answers (API.md,
    Second release: 404 whether or not that person is listed, whatever the subject's kind or the
    type its number was pushed under)."""
    try:
        uuid.UUID(key)  # a ref: its hex groups may look like a number's digit groups, and are none
    except ValueError:
        if holds_resident_id(key) and not is_uscc(typed_code(key)):
            return None
    return repository.public_lookup(key)


@dataclass
class PublicSubject:
    ref: uuid.UUID
    name: str
    kind: str
    identifier: str  # masked where it belongs to a person
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def late_disclosures(self) -> int:
        return sum(1 for record in self.records if record["late_disclosure"])

    def counts(self) -> dict[str, int]:
        return {
            "black_count": sum(1 for r in self.records if r["list_type"] == "black"),
            "red_count": sum(1 for r in self.records if r["list_type"] == "red"),
        }

    def as_json(self, today: date) -> dict[str, Any]:
        return {
            "subject": {"name": self.name, "kind": self.kind, "identifier": self.identifier, "ref": self.ref},
            "records": self.records,
            "late_disclosures": self.late_disclosures,
            **self.counts(),
            "as_of": today,
        }


def from_rows(rows: list[Row[Any]] | list[tuple[Any, ...]], names: Names) -> PublicSubject | None:
    """Shape the lookup's rows; None when there is no such subject or nothing of it is in public force."""
    if not rows:
        return None
    subject_id, identifier, identifier_type, kind, birth_date = rows[0][:5]
    records: list[dict[str, Any]] = []
    latest: tuple[tuple[date, Any], str] | None = None  # ((decision date, received), name)
    for row in rows:
        if row[5] is None or about_a_minor(birth_date, row[11]):
            continue
        if records and records[-1]["id"] == row[5]:  # the same record, its next related party
            _add_party(records[-1], row)
            continue
        records.append(
            {
                "id": row[5],
                "domain": row[6],
                "domain_name_zh": names.domains.get(row[6], row[6]),
                "list_type": row[7],
                "severity": row[8],
                "conduct": scrub(row[9]),
                "decision_no": scrub(row[10]),
                "decision_date": row[11],
                "legal_basis": scrub(row[12]),
                "publicity_start": row[13],
                "publicity_end": row[14],
                "under_objection": bool(row[15]),
                "late_disclosure": row[16],
                "designating_agency": {"code": row[17], "name_zh": names.agencies.get(row[17], row[17])},
                "status": "active",
                "listing_basis": row[20],
                "performance": scrub(row[21]) if row[21] is not None else None,
                "related": [],
            }
        )
        _add_party(records[-1], row)
        if latest is None or (row[11], row[19]) > latest[0]:
            latest = ((row[11], row[19]), row[18])
    # Nothing in public force: answered exactly like an identifier never pushed (no name, no 200).
    if latest is None:
        return None
    return PublicSubject(
        ref=subject_id,
        name=scrub(latest[1]),
        kind=kind,
        identifier=mask_identifier(kind, identifier_type, identifier),
        records=records,
    )


ROLE_ZH = {
    "legal_representative": "法定代表人",
    "principal": "主要负责人",
    "responsible_person": "直接责任人",
    "actual_controller": "实际控制人",
}


def _add_party(record: dict[str, Any], row: Any) -> None:
    """A related party the lookup joined to a record (only those the domain's rule publishes), its
    identity number masked like any person's; none who was a minor on the decision date."""
    role, name, kind, identifier_type, identifier, party_birth = row[22:28]
    if role is None or about_a_minor(party_birth, record["decision_date"]):
        return
    record["related"].append(
        {
            "role": role,
            "role_zh": ROLE_ZH.get(role, role),
            "name": scrub(name),
            "kind": kind,
            "identifier": mask_identifier(kind, identifier_type, identifier),
        }
    )


def public_subject(connection: Connection, key: str, today: date) -> PublicSubject | None:
    lookup = lookup_statement(key)
    if lookup is None:
        return None
    statement, params = lookup
    return from_rows(list(connection.execute(statement, params | {"today": today})), names(connection))


@dataclass
class PublicFace:
    """What search shows of a subject: its records in public force, counted, and the names they carry."""

    kind: str
    identifier: str  # masked where it belongs to a person
    black_count: int
    red_count: int
    names: list[str]  # latest decided record's first: names[0] is the subject's public name


def public_faces(
    connection: Connection, subject_ids: list[uuid.UUID], today: date
) -> dict[uuid.UUID, PublicFace]:
    """Per subject with a record in public force (subjects with none are absent)."""
    if not subject_ids:
        return {}
    rows = repository.public_records_of(connection, subject_ids, today)
    found: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    subjects: dict[uuid.UUID, tuple[str, str]] = {}
    for subject_id, decision_date, received_at, name, list_type, birth_date, *subject in rows:
        if not about_a_minor(birth_date, decision_date):
            found.setdefault(subject_id, []).append((decision_date, received_at, name, list_type))
            kind, identifier_type, identifier = subject
            subjects[subject_id] = (kind, mask_identifier(kind, identifier_type, identifier))
    faces = {}
    for subject_id, records in found.items():
        records.sort(reverse=True)  # the latest decided first, then the latest pushed
        kind, identifier = subjects[subject_id]
        faces[subject_id] = PublicFace(
            kind=kind,
            identifier=identifier,
            black_count=sum(1 for record in records if record[3] == "black"),
            red_count=sum(1 for record in records if record[3] == "red"),
            names=list(dict.fromkeys(record[2] for record in records)),
        )
    return faces


def public_record(connection: Connection, record_id: uuid.UUID, today: date) -> dict[str, Any] | None:
    """One record in public force with its subject's public face (for the repair and objection forms)."""
    row = repository.public_record_row(connection, record_id, today)
    if row is None or about_a_minor(row[14], row[4]):
        return None
    known = names(connection)
    return {
        "id": row[0],
        "list_type": row[1],
        "conduct": scrub(row[2]),
        "decision_no": scrub(row[3]),
        "decision_date": row[4],
        "publicity_end": row[5],
        "under_objection": bool(row[6]),
        "domain": row[7],
        "domain_name_zh": known.domains.get(row[7], row[7]),
        "agency_name_zh": known.agencies.get(row[8], row[8]),
        "subject": {
            "ref": row[9],
            "name": scrub(row[10]),
            "kind": row[11],
            "identifier": mask_identifier(row[11], row[12], row[13]),
        },
    }
