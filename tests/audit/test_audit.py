"""The audit log: every change appended in the same transaction; any later edit is found."""

import json

from sqlalchemy import delete, select, update

from app.audit.models import AuditEntry
from app.db import session_scope
from tests.conftest import record_body


def _push_some(http, police, n=3):
    for i in range(1, n + 1):
        assert http.post("/v1/records", json=record_body(i), headers=police).status_code == 201


def _auditor(token_for):
    return token_for("national.credit_office", "audit:read")


def _seqs():
    with session_scope(writing=False) as session:
        return list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))


def test_every_change_is_in_the_log_and_the_chain_verifies(http, police, token_for):
    _push_some(http, police)
    auditor = _auditor(token_for)
    page = http.get("/v1/admin/audit", headers=auditor).json()
    actions = [item["action"] for item in page["items"]]
    assert actions.count("record.created") == 3 and "client.created" in actions
    created = [item for item in page["items"] if item["action"] == "record.created"]
    assert created[0]["actor"].endswith("@national.public_security")
    assert created[0]["payload"]["status"] == "active"
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict == {"valid": True, "last_seq": page["items"][-1]["seq"]}


def test_a_refused_push_leaves_no_audit_entry(http, police):
    before = _seqs()
    assert http.post("/v1/records", json=record_body(1, domain="nope"), headers=police).status_code == 422
    assert _seqs() == before


def test_an_altered_row_is_found(http, police, token_for):
    _push_some(http, police)
    auditor = _auditor(token_for)
    target = _seqs()[2]
    with session_scope() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == target).values(payload='{"status":"revoked"}')
        )
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["broken_at"] == target


def test_a_deleted_row_is_found(http, police, token_for):
    _push_some(http, police)
    auditor = _auditor(token_for)
    target = _seqs()[1]
    with session_scope() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == target))
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["broken_at"] == target


def test_reordered_rows_are_found(http, police, token_for):
    _push_some(http, police)
    auditor = _auditor(token_for)
    first, second = _seqs()[1:3]
    with session_scope() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == first).values(seq=-1))
        session.execute(update(AuditEntry).where(AuditEntry.seq == second).values(seq=first))
        session.execute(update(AuditEntry).where(AuditEntry.seq == -1).values(seq=second))
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["broken_at"] == first


def test_audit_needs_audit_read(http, token_for):
    writer = token_for("national.public_security", "records:write", "admin")
    assert http.get("/v1/admin/audit/verify", headers=writer).status_code == 403
    assert http.get("/v1/admin/audit").status_code == 401


def test_the_chain_verifies_whatever_zone_the_clock_was_read_in(http, police, token_for, clock):
    auditor = _auditor(token_for)
    clock("2026-11-18T10:00")  # a China-time instant, stored as UTC
    _push_some(http, police, 2)
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is True


def test_the_operator_command_verifies_and_names_the_broken_entry(http, police):
    from typer.testing import CliRunner

    from app.cli import cli

    _push_some(http, police)
    intact = CliRunner().invoke(cli, ["audit", "verify"])
    assert intact.exit_code == 0 and json.loads(intact.output)["valid"] is True
    target = _seqs()[1]
    with session_scope() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == target).values(actor="someone else"))
    broken = CliRunner().invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert json.loads(broken.output)["broken_at"] == target
