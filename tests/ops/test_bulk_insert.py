"""bulk_insert stores exactly what it is given, whatever the text holds (COPY escaping on PostgreSQL)."""

import time
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.checks.models import Check
from app.checks.store import CheckRow
from app.db import bulk_insert, new_id_texts, session_scope

TRICKY = 'tab\there, newline\nthere, back\\slash, \\N, \\., cr\r, 引号"中文"'


def _check_row(**given: object) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "agency_code": "national.market_regulation",
        "client_id": "cl_test",
        "identifier": "X",
        "subject_id": None,
        "found": False,
        "action": "financing",
        "reference": None,
        "as_of": None,
        "decision": "clear",
        "decisive_domain": None,
        "under_objection": False,
        "state_digest": "0" * 64,
        "answer": "{}",
        "receipt": "a.b.c",
        "checked_at": datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    } | given


def test_text_with_escapes_round_trips():
    row = _check_row(
        reference=TRICKY,
        as_of=date(2026, 11, 1),
        answer='{"note": "' + TRICKY.replace("\\", "\\\\").replace('"', '\\"') + '"}',
        checked_at=datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=UTC),
    )
    with session_scope() as session:
        bulk_insert(session, Check, [row])
    with session_scope(writing=False) as session:
        stored = session.scalars(select(Check).where(Check.id == row["id"])).one()
        assert stored.reference == TRICKY and stored.answer == row["answer"]
        assert stored.subject_id is None and stored.found is False and stored.as_of == date(2026, 11, 1)
        assert stored.checked_at == row["checked_at"]


def test_uuid_columns_take_text():
    (check_id,) = new_id_texts(1)
    with session_scope() as session:
        bulk_insert(session, Check, [_check_row(id=check_id)])
    with session_scope(writing=False) as session:
        stored = session.get(Check, uuid.UUID(check_id))
        assert stored is not None and stored.receipt == "a.b.c"


def test_new_id_texts_are_distinct_time_ordered_uuids():
    before = time.time_ns() // 1_000_000
    ids = new_id_texts(20_000)
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # the first 48 bits: Unix time in milliseconds
    # every hex digit turns up in every random position (the time, version and variant are fixed)
    positions = [i for i in range(15, 36) if i not in (18, 19, 23)]
    for position in positions:
        assert len({text[position] for text in ids}) == 16
    # ids made later sort after: a table's newest rows sit together in its primary key's index
    time.sleep(0.002)
    (later,) = new_id_texts(1)
    assert later > max(ids)


def test_check_rows_carry_every_column_of_the_table():
    assert set(CheckRow._fields) == set(Check.__table__.columns.keys())
