"""bulk_insert stores exactly what it is given, whatever the text holds (COPY escaping on PostgreSQL)."""

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.checks.models import Check
from app.db import bulk_insert, session_scope

TRICKY = 'tab\there, newline\nthere, back\\slash, \\N, \\., cr\r, 引号"中文"'


def test_text_with_escapes_round_trips():
    check_id = uuid.uuid4()
    row = {
        "id": check_id,
        "agency_code": "national.market_regulation",
        "client_id": "cl_test",
        "identifier": "X",
        "subject_id": None,
        "found": False,
        "action": "financing",
        "reference": TRICKY,
        "as_of": date(2026, 11, 1),
        "decision": "clear",
        "decisive_domain": None,
        "under_objection": False,
        "state_digest": "0" * 64,
        "answer": '{"note": "' + TRICKY.replace("\\", "\\\\").replace('"', '\\"') + '"}',
        "receipt": "a.b.c",
        "checked_at": datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=UTC),
    }
    with session_scope() as session:
        bulk_insert(session, Check, [row])
    with session_scope(writing=False) as session:
        stored = session.scalars(select(Check).where(Check.id == check_id)).one()
        assert stored.reference == TRICKY and stored.answer == row["answer"]
        assert stored.subject_id is None and stored.found is False and stored.as_of == date(2026, 11, 1)
        assert stored.checked_at == row["checked_at"]
