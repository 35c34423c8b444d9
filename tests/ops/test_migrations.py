"""Upgrading a registry that holds data: every migration to head and back, with records that cases
name (on SQLite a table is altered by copying it, which its foreign keys must not refuse)."""

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Boolean, Date, Uuid, bindparam, create_engine, text

from app import migrate
from app.db import UTCDateTime

FIRST_RELEASE = "e5b8f0c2d4a6"
TYPES = {"sid": Uuid(), "rid": Uuid(), "cid": Uuid(), "at": UTCDateTime(), "day": Date(), "no": Boolean()}


def _sql(statement: str):  # type: ignore[no-untyped-def]
    clause = text(statement)
    return clause.bindparams(
        *(bindparam(name, type_=kind) for name, kind in TYPES.items() if f":{name}" in statement)
    )


def test_a_registry_with_records_and_cases_upgrades_to_head_and_back(scratch_database_url):
    url = scratch_database_url
    migrate.upgrade(url, FIRST_RELEASE)
    engine = create_engine(url)
    record_id = uuid.uuid4()
    values = {"sid": uuid.uuid4(), "rid": record_id, "cid": uuid.uuid4(), "at": datetime.now(UTC)}
    values |= {"day": date(2026, 10, 1), "no": False}
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO agencies (code, name_zh, name_en, jurisdiction, aliases) "
                    "VALUES ('a', '甲', '', 'national', '[]')"
                )
            )
            connection.execute(text("INSERT INTO domains (code, name_zh, name_en) VALUES ('d', '域', '')"))
            connection.execute(
                _sql(
                    "INSERT INTO subjects (id, identifier, identifier_type, kind, name, created_at, "
                    "updated_at) VALUES (:sid, 'X1', 'other', 'legal_person', '某公司', :at, :at)"
                ),
                values,
            )
            connection.execute(
                _sql(
                    "INSERT INTO records (id, agency_code, external_id, domain_code, list_type, severity, "
                    "subject_id, subject_name, conduct, decision_no, decision_date, legal_basis, "
                    "publicity_start, publicity_end, visibility, status, version, under_objection, "
                    "received_at, updated_at, content_hash) VALUES (:rid, 'a', 'e', 'd', 'black', "
                    "'serious', :sid, '某公司', '行为', '文号', :day, '依据', :day, :day, 'public', "
                    "'active', 1, :no, :at, :at, 'h')"
                ),
                values,
            )
            connection.execute(
                _sql(
                    "INSERT INTO cases (id, kind, record_id, agency_code, query_code_hash, status, "
                    "applicant_name, contact, statement, commitment, evidence, submitted_at) VALUES "
                    "(:cid, 'objection', :rid, 'a', 'q', 'submitted', '某', '138', '陈述', :no, '[]', :at)"
                ),
                values,
            )
        migrate.upgrade(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == 1
            kept = connection.execute(_sql("SELECT count(*) FROM records WHERE id = :rid"), values)
            assert kept.scalar_one() == 1
        migrate.downgrade(url, FIRST_RELEASE)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == 1
        migrate.upgrade(url)
    finally:
        engine.dispose()
