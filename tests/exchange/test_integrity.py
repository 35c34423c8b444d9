"""An extract proves itself: a file altered after it was made fails verification offline, and the
registry will not build the next delta on it; nor can a manifest be altered or forged."""

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.cli import cli
from app.db import session_scope
from app.exchange.errors import ExtractChainBroken
from app.exchange.extracts import make_extracts, rows_of
from app.exchange.verify import verify_extract
from app.kit.signing import b64url, b64url_decode, jwks_verifier
from tests.conftest import record_body
from tests.exchange.test_extracts import make, push


@pytest.fixture
def two_days(http, police, clock, no_extracts_left: Path) -> Path:
    clock("2026-11-19T10:00")
    for n in range(1, 4):
        push(http, police, record_body(n))
    clock("2026-11-20T09:00")
    make("2026-11-19")
    clock("2026-11-20T10:00")
    push(http, police, record_body(4))
    clock("2026-11-21T09:00")
    make("2026-11-20")
    return no_extracts_left / "2026-11-20"


def _jwks_file(http, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(http.get("/.well-known/jwks.json").text)
    return path


def _verify(*args: str):
    return CliRunner().invoke(cli, ["extracts", "verify", *args])


def _tamper(path: Path) -> None:
    """One record dropped, recompressed: a well-formed file that says something else."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(lines[1:]), mtime=0))


def test_an_untouched_extract_verifies_offline_with_the_published_keys(http, two_days, tmp_path):
    jwks = _jwks_file(http, tmp_path)
    # Readable by the registry's user alone: extracts hold what only agencies may see.
    assert {path.stat().st_mode & 0o777 for path in two_days.iterdir()} == {0o600}
    for kind, count in (("full", 4), ("delta", 1)):
        result = _verify(
            str(two_days / f"{kind}.ndjson.gz"), str(two_days / "manifest.jws"), "--jwks", str(jwks)
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {
            "valid": True,
            "date": "2026-11-20",
            "kind": kind,
            "count": count,
            "problems": [],
        }


def test_a_tampered_file_fails_and_no_delta_is_built_on_it(http, clock, two_days, tmp_path):
    jwks = _jwks_file(http, tmp_path)
    full = two_days / "full.ndjson.gz"
    _tamper(full)
    result = _verify(str(full), str(two_days / "manifest.jws"), "--jwks", str(jwks))
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert verdict["valid"] is False and "none of the files of the manifest" in verdict["problems"][0]
    verifier = jwks_verifier(json.loads(jwks.read_text()))
    untouched = verify_extract(
        two_days / "delta.ndjson.gz", (two_days / "manifest.jws").read_text(), verifier
    )
    assert untouched.valid and untouched.kind == "delta"

    clock("2026-11-22T09:00")
    with (
        pytest.raises(ExtractChainBroken, match="no longer matches its manifest"),
        session_scope() as session,
    ):
        make_extracts(session, date(2026, 11, 21))
    with session_scope(writing=False) as session:
        assert rows_of(session, date(2026, 11, 21)) == []
    assert sorted(path.name for path in (two_days.parent / "2026-11-21").iterdir()) == []  # nothing half made
    # The operator restores the file (here: makes the 20th again from the database): the chain goes on.
    full.unlink()
    with session_scope() as session:
        for row in rows_of(session, date(2026, 11, 20)):
            session.delete(row)
    clock("2026-11-21T09:00")
    make("2026-11-20")
    clock("2026-11-22T09:00")
    assert make("2026-11-21").extracts[1].previous == date(2026, 11, 20)


def test_a_cut_file_fails(http, two_days):
    full = two_days / "full.ndjson.gz"
    full.write_bytes(full.read_bytes()[:-10])
    result = _verify(str(full), str(two_days / "manifest.jws"))  # this registry's own keys
    assert result.exit_code == 1 and json.loads(result.output)["valid"] is False


def test_an_altered_or_foreign_manifest_fails(http, two_days, tmp_path):
    jwks = _jwks_file(http, tmp_path)
    token = (two_days / "manifest.jws").read_text()
    header, body, signature = token.split(".")
    payload = json.loads(b64url_decode(body))
    payload["files"][0]["count"] += 1
    altered = tmp_path / "altered.jws"
    altered.write_text(f"{header}.{b64url(json.dumps(payload).encode()).decode()}.{signature}")
    result = _verify(str(two_days / "full.ndjson.gz"), str(altered), "--jwks", str(jwks))
    assert result.exit_code == 1 and "signature does not verify" in result.output
    # Another key set (another registry, or a forger) does not vouch for it either.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"keys": []}))
    result = _verify(str(two_days / "full.ndjson.gz"), str(two_days / "manifest.jws"), "--jwks", str(other))
    assert result.exit_code == 1 and "unknown key" in result.output


def test_each_made_day_is_in_the_audit_log(two_days):
    with session_scope(writing=False) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "extract.made").order_by(AuditEntry.seq)
        ).all()
        assert [entry.entity_id for entry in entries] == ["2026-11-19", "2026-11-20"]
        made = json.loads(entries[-1].payload)
        stored = {row.kind: row.sha256 for row in rows_of(session, date(2026, 11, 20))}
        assert {entry["kind"]: entry["sha256"] for entry in made["files"]} == stored
        assert session.scalar(select(func.count()).select_from(AuditEntry)) > 2


def test_the_files_given_the_other_way_round_are_a_bad_input(http, two_days, tmp_path):
    jwks = _jwks_file(http, tmp_path)
    swapped = _verify(str(two_days / "manifest.jws"), str(two_days / "full.ndjson.gz"), "--jwks", str(jwks))
    assert swapped.exit_code == 2 and "cannot read" in swapped.output


def _verify_with_data_dir(data_dir: Path, monkeypatch, *args: str):
    """`extracts verify` as run where REGISTRY_DATA_DIR is `data_dir` (the suite's settings after)."""
    from app.config import get_settings

    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        return _verify(*args)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_verifying_without_keys_here_asks_for_the_jwks_and_makes_no_key(two_days, tmp_path, monkeypatch):
    files = (str(two_days / "full.ndjson.gz"), str(two_days / "manifest.jws"))
    result = _verify_with_data_dir(tmp_path / "elsewhere", monkeypatch, *files)
    assert result.exit_code == 2 and "--jwks" in result.output
    assert not (tmp_path / "elsewhere").exists()


def test_public_keys_alone_verify_and_no_signing_key_is_made(http, two_days, tmp_path, monkeypatch):
    # After a restore a data directory may hold only public keys: they verify; nothing signs.
    from app.keys import get_keyring
    from app.kit.signing import public_pem

    elsewhere = tmp_path / "restored"
    (elsewhere / "keys").mkdir(parents=True)
    for key in get_keyring().ordered:  # as `registry restore` writes them
        (elsewhere / "keys" / f"public-{key.kid}.pem").write_text(public_pem(key.public_ec))
    (elsewhere / "keys" / "notes.pem").write_text("not a key of the registry's naming")
    files = (str(two_days / "full.ndjson.gz"), str(two_days / "manifest.jws"))
    result = _verify_with_data_dir(elsewhere, monkeypatch, *files)
    assert result.exit_code == 0, result.output
    assert not list((elsewhere / "keys").glob("signing-*.pem"))
