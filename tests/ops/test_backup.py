"""Backup and restore lose nothing: every row comes back, and the audit chain still verifies."""

import json

import pytest
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


def test_a_restore_on_a_fresh_data_directory_still_verifies_receipts_and_reports(
    http, police, token_for, clock, tmp_path, scratch_database_url, monkeypatch
):
    """The backup carries the public signing keys; `registry restore` installs them, so that what
    the registry signed before verifies where the data now lives (a new key signs from there on)."""
    from typer.testing import CliRunner

    from app import keys
    from app.cli import cli
    from app.config import Settings, get_settings
    from app.kit import signing
    from app.public.models import PublicReport
    from tests.auth.keyfiles import own_keys
    from tests.checks.helpers import approver, check
    from tests.conftest import make_uscc

    approver_headers = approver(token_for)
    clock("2026-11-20T10:00")
    assert http.post("/v1/records", json=record_body(1), headers=police).status_code == 201
    receipt = check(http, approver_headers, 1, "financing")["receipt"]
    assert http.get(f"/v1/public/subjects/{make_uscc(1)}/report.json").status_code == 200
    path = tmp_path / "registry.jsonl.gz"
    with get_engine().connect() as connection:
        backup.backup(connection, path)
    suite_kids = set(keys.get_keyring().keys)
    assert {key["kid"] for key in backup.public_keys(path)} == suite_kids
    assert all("d" not in key for key in backup.public_keys(path))  # no private key in a backup

    fresh_dir = tmp_path / "fresh"
    fresh = Settings(data_dir=fresh_dir, database_url=scratch_database_url, signing_keys="")
    # What was lost before: a fresh data directory's new key knows nothing the old keys signed.
    with pytest.raises(signing.SignatureError, match="unknown key"):
        keys.keyring_from_settings(fresh).verify_jws(receipt)
    for generated in (fresh_dir / "keys").iterdir():  # as if that directory had never been used
        generated.unlink()

    target = create_engine(scratch_database_url)
    monkeypatch.setattr(get_settings(), "database_url", scratch_database_url)
    monkeypatch.setattr("app.db.get_engine", lambda: target)
    with own_keys(data_dir=fresh_dir):
        result = CliRunner().invoke(cli, ["restore", str(path)])
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary["keys"]["installed"]) == suite_kids and summary["keys"]["missing"] == []

    restored = keys.keyring_from_settings(fresh)
    assert restored.active.kid not in suite_kids  # the fresh directory's own key signs
    assert (
        restored.verify_jws(receipt)["decision"] == check(http, approver_headers, 1, "financing")["decision"]
    )
    with Session(target) as session:
        reports = list(session.scalars(select(PublicReport)))
    assert reports and all(restored.verify_jws(r.signature)["report_id"] == r.id for r in reports)
    target.dispose()


def test_a_restore_where_keys_come_from_the_environment_names_the_missing_public_keys(tmp_path, http):
    from app import keys
    from app.config import Settings
    from app.kit import signing

    path = tmp_path / "registry.jsonl.gz"
    with get_engine().connect() as connection:
        backup.backup(connection, path)
    settings = Settings(data_dir=tmp_path, signing_keys=signing.new_private_pem())
    result = keys.install_public_keys(backup.public_keys(path), settings)
    assert set(result["missing"]) == set(keys.get_keyring().keys) and not result["installed"]
    assert not (tmp_path / "keys").exists()  # nothing written: the environment is the operator's


def _damaged(path, tmp_path, edit):
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    damaged = tmp_path / "damaged.jsonl.gz"
    with gzip.open(damaged, "wt", encoding="utf-8") as out:
        out.writelines(edit(lines))
    return damaged


def _edit_an_audit_payload(lines):
    for index, line in enumerate(lines):
        entry = json.loads(line)
        if entry.get("table") == "audit_log" and entry["row"]["action"] == "record.created":
            entry["row"]["payload"] = entry["row"]["payload"].replace("ext-1", "ext-9")
            lines[index] = json.dumps(entry, ensure_ascii=False) + "\n"
            return lines
    raise AssertionError("no record entry")


def _rows_of(lines, table):
    return [i for i, line in enumerate(lines) if f'"table": "{table}"' in line]


def _add_a_column(lines):
    index = _rows_of(lines, "subjects")[0]
    entry = json.loads(lines[index])
    entry["row"]["planted"] = 1
    lines[index] = json.dumps(entry, ensure_ascii=False) + "\n"
    return lines


def _duplicate_a_subject(lines):
    index = _rows_of(lines, "subjects")[0]
    lines.insert(index, lines[index])
    end = json.loads(lines[-1])
    end["end"]["subjects"] += 1  # the count adjusted: the database itself refuses the second
    lines[-1] = json.dumps(end) + "\n"
    return lines


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda lines: lines[:-30], "cut short"),  # the tail cut off, the count with it
        (lambda lines: [*lines[:-2], lines[-1]], "does not hold the rows it counts"),
        (lambda lines: [ln for ln in lines if '"table": "audit_log"' not in ln], "does not hold the rows"),
        (_edit_an_audit_payload, "does not verify"),
        (lambda lines: [*lines[:5], '{"table": "nope", "row": {}}\n', *lines[5:]], "not a row"),
        (lambda lines: [*lines[:5], "{not json\n", *lines[5:]], "damaged at line 6"),
        (lambda lines: [], "not a registry backup"),
        (lambda lines: [*lines[:5], "5\n", *lines[5:]], "not a row"),
        (lambda lines: [*lines[:5], "[]\n", *lines[5:]], "not a row"),
        (lambda lines: [*lines[:-1], '{"end": []}\n'], "does not count rows"),
        (_add_a_column, "not a row"),
        (_duplicate_a_subject, "refuses"),
    ],
)
def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    http, police, tmp_path, scratch_database_url, monkeypatch, edit, says
):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    for n in (1, 2):
        assert http.post("/v1/records", json=record_body(n), headers=police).status_code == 201
    path = tmp_path / "registry.jsonl.gz"
    with get_engine().connect() as connection:
        backup.backup(connection, path)
    damaged = _damaged(path, tmp_path, edit)
    target = create_engine(scratch_database_url)
    monkeypatch.setattr(get_settings(), "database_url", scratch_database_url)
    monkeypatch.setattr("app.db.get_engine", lambda: target)
    result = CliRunner().invoke(cli, ["restore", str(damaged)])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert says in result.output
    with target.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM records").scalar() == 0
    target.dispose()


def test_a_backup_cut_inside_its_compressed_stream_is_refused_in_a_sentence(tmp_path, http, police):
    from typer.testing import CliRunner

    from app.cli import cli

    path = tmp_path / "registry.jsonl.gz"
    with get_engine().connect() as connection:
        backup.backup(connection, path)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="damaged"):
        backup.public_keys(cut) and list(backup._lines(cut))
    missing = CliRunner().invoke(cli, ["restore", str(tmp_path / "nowhere.gz")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_backup_or_export_into_a_missing_directory_is_a_sentence(tmp_path):
    from typer.testing import CliRunner

    from app.cli import cli

    for command in (["backup"], ["records", "export"]):
        for path in (tmp_path / "missing" / "out.jsonl.gz", tmp_path):
            result = CliRunner().invoke(cli, [*command, str(path)])
            assert result.exit_code == 2, (command, path, result.output)
            # (a directory given to `records export` is refused by its argument's own check, exit 2 too)
            assert "Traceback" not in result.output and "rror" in result.stderr
            assert not list(tmp_path.glob("**/out*"))


def test_backups_and_exports_are_readable_by_the_registry_s_user_alone(tmp_path, http, police):
    # They hold persons' full identity numbers and restricted records: never left to the umask.
    import os
    import stat

    from typer.testing import CliRunner

    from app.cli import cli

    assert http.post("/v1/records", json=record_body(1), headers=police).status_code == 201
    kept = tmp_path / "kept.ndjson"
    kept.write_text("")
    kept.chmod(0o644)  # there already, readable by all: written over, it is made private
    before = os.umask(0o022)
    try:
        for command, path in ((["backup"], tmp_path / "b.jsonl.gz"), (["records", "export"], kept)):
            result = CliRunner().invoke(cli, [*command, str(path)])
            assert result.exit_code == 0, result.output
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, command
    finally:
        os.umask(before)
    assert kept.read_text().count("\n") == 1
    for command in (["records", "export", "/dev/full", "--format", "ndjson"], ["backup", "/dev/full"]):
        full = CliRunner().invoke(cli, command)
        assert full.exit_code == 2 and "Traceback" not in full.output and "cannot write" in full.stderr
    assert stat.S_IMODE(os.stat("/dev/full").st_mode) != 0o600  # a device's mode is never touched
