"""The search index answers every way of matching through an index, on both databases: at a million
subjects a full scan of subject_search costs a second (docs/benchmarks.md), so a way of matching that
falls back to one must fail here, not in production."""

import re
from datetime import date
from typing import Any

import pytest

from app.db import session_scope
from app.kit.names import core, fold
from app.public import search
from app.records import search_index

QUERIES = [
    "鑫达",  # two characters: the grams' character pairs, and homophones
    "鑫达通迅",  # a substring (trigrams), and homophones
    "枣庄鑫达通讯器材有限公司",  # a prefix, the name without its place
    "xdtx",  # pinyin and initials prefixes, then pinyin inside a name
]


def _plan(connection: Any, query: str, second: bool) -> str:
    """The plan of the statement the search runs first (exact tiers) or second (more tiers)."""
    wanted = search.wanted(core(fold(query)))
    asked = (
        search_index.second_tiers(connection, wanted, found=0, enough=20)
        if second
        else search_index.exact_tiers(connection, wanted)
    )
    statement, given = search_index.prepared(connection, date(2026, 11, 20), asked)
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params(given)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", params).all()
        return "\n".join(row[0] for row in rows)
    positional = tuple(params[name] for name in compiled.positiontup or ())
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional).all()
    return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize("second", [False, True], ids=["exact", "more"])
@pytest.mark.parametrize("query", QUERIES)
def test_every_way_of_matching_is_served_by_an_index(query, second):
    with session_scope() as session:
        plan = _plan(session.connection(), query, second)
    # PostgreSQL with sequential scans disabled still plans one when no index can serve; SQLite's
    # "SCAN subject_search" (not its FTS5 tables) reads every row.
    assert not re.search(r"Seq Scan on subject_search\b|SCAN subject_search(?!_fts)\b", plan), plan


LATER_COLUMNS = ("merged_into", "performance")


def test_the_migration_fills_the_new_keys_and_downgrades_in_place(http, police, scratch_database_url):
    """Upgrading a registry indexed before this revision rebuilds its index (traditional names folded,
    trade names and grams filled): a two-character name is then found. The downgrade keeps the older
    trigram index working."""
    from sqlalchemy import create_engine, insert, select, text

    from app import migrate
    from app.catalog.models import Agency, Domain
    from app.public.search import search as search_names
    from app.records.models import Record, Subject
    from tests.conftest import make_uscc, record_body

    body = record_body(1, subject={"identifier": make_uscc(5), "name": "棗莊市鑫達通訊器材有限公司"})
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    with session_scope() as session:
        copied = {
            model: [
                # Columns added after that revision (subjects.merged_into, records.performance) are not
                # there yet.
                {c.name: getattr(row, c.key) for c in model.__table__.columns if c.name not in LATER_COLUMNS}
                for row in session.scalars(select(model).where(condition))
            ]
            for model, condition in (
                (Agency, Agency.code == "national.public_security"),
                (Domain, Domain.code == "telecom_fraud"),
                (Subject, Subject.identifier == make_uscc(5)),
                (Record, Record.agency_code == "national.public_security"),
            )
        }
    url = scratch_database_url
    migrate.upgrade(url, "related_parties")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for model, rows in copied.items():
                connection.execute(insert(model.__table__), rows)
        migrate.upgrade(url)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT folded, trade, grams FROM subject_search")).one()
            assert row.folded == "枣庄市鑫达通讯器材有限公司" and row.trade == "鑫达通讯器材"
            assert "鑫达" in row.grams.split() and "xin_da" in row.grams.split()
            found = search_names(connection, "鑫达", 10, date(2026, 11, 20))
            assert [item["name"] for item in found["items"]] == ["棗莊市鑫達通訊器材有限公司"]
        migrate.downgrade(url, "related_parties")
        with engine.connect() as connection:
            older = "SELECT name FROM subject_search WHERE core LIKE '%鑫达通%'"
            if connection.dialect.name == "sqlite":  # through the trigram table, kept in step in place
                older = (
                    "SELECT name FROM subject_search WHERE rowid IN "
                    "(SELECT rowid FROM subject_search_fts WHERE core LIKE '%鑫达通%')"
                )
            assert connection.execute(text(older)).scalars().all() == ["棗莊市鑫達通訊器材有限公司"]
        migrate.upgrade(url)
    finally:
        engine.dispose()
