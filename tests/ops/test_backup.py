"""Backup and restore lose nothing: every row comes back, and the audit chain still verifies."""

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app import backup, migrate
from app.audit import service as audit
from app.db import Base, get_engine
from app.models import Record  # noqa: F401  (all tables registered)
from tests.conftest import record_body

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _everything(engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in connection.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def test_backup_and_restore_round_trip(http, police, clock, tmp_path, scratch_database_url):
    clock("2026-05-29T10:00")
    records = [
        http.post(
            "/v1/records", json=record_body(n, severity="general", decision_date="2026-05-28"), headers=police
        ).json()
        for n in range(1, 4)
    ]
    clock("2026-09-29T10:00")
    repair = {
        "record_id": records[0]["id"],
        "applicant": {"name": "甲", "contact": "1"},
        "statement": "已整改",
        "commitment": True,
        "evidence": [{"kind": "fine_paid", "description": "凭证"}],
    }
    code = http.post("/v1/public/repairs", json=repair).json()["query_code"]
    assert (
        http.post(f"/v1/public/cases/{code}/files", files={"file": ("a.png", PNG, "image/png")}).status_code
        == 201
    )

    path = tmp_path / "registry.jsonl.gz"
    with get_engine().connect() as connection:
        counts = backup.backup(connection, path)
    assert counts["records"] == 3 and counts["case_files"] == 1 and counts["agencies"] > 40

    migrate.upgrade(scratch_database_url)
    target = create_engine(scratch_database_url)
    with target.connect() as connection, connection.begin():
        restored = backup.restore(connection, path)
    assert {name: n for name, n in restored.items() if n} == {name: n for name, n in counts.items() if n}
    assert _everything(target) == _everything(get_engine())
    with Session(target) as session:
        assert audit.verify(session).valid
    # A second restore into the same (now full) database is refused rather than doubling data.
    with target.connect() as connection:
        try:
            backup.restore(connection, path)
            raise AssertionError("restore into a non-empty database must be refused")
        except ValueError as exc:
            assert "not empty" in str(exc)
    target.dispose()
