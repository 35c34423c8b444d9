"""Audit anchors: signed checkpoints kept outside the registry catch a cut-off tail and a re-computed
chain; record rows are held against what their last audit entry recorded (API.md "Audit anchors")."""

import base64
import json
import uuid
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws
from sqlalchemy import delete, select, update

from app.audit.models import AuditEntry
from app.audit.service import GENESIS_HASH, chain_hash
from app.db import session_scope
from app.keys import get_keyring
from app.kit.signing import KeyRing, load_key
from app.records.models import Record, Subject
from tests.conftest import record_body


def _push(http, police, numbers):
    ids = []
    for n in numbers:
        answer = http.post("/v1/records", json=record_body(n), headers=police)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


def _auditor(token_for):
    return token_for("national.credit_office", "audit:read")


def _checkpoint(http, auditor):
    answer = http.get("/v1/admin/audit/checkpoint", headers=auditor)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _verify(http, auditor, checkpoints):
    return http.post("/v1/admin/audit/verify", json={"checkpoints": checkpoints}, headers=auditor)


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _head_seq():
    with session_scope(writing=False) as session:
        return session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))


def _rewrite_chain_from(seq, **changes):
    """What a careful forger does: edit one entry and recompute every hash after it."""
    with session_scope() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)).all()
        for name, value in changes.items():
            setattr(rows[0], name, value)
        prev_hash = rows[0].prev_hash
        for row in rows:
            row.prev_hash = prev_hash
            row.hash = prev_hash = chain_hash(
                prev_hash=prev_hash,
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                payload=row.payload,
            )


def test_a_checkpoint_is_the_signed_head_of_the_chain(http, police, token_for):
    auditor = _auditor(token_for)
    _push(http, police, [1, 2])
    issued = _checkpoint(http, auditor)
    head = _head_seq()
    with session_scope(writing=False) as session:
        head_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == head))
    assert issued["seq"] == head and issued["hash"] == head_hash
    # An outside party checks it with the published keys alone.
    keys = {key["kid"]: key for key in http.get("/.well-known/jwks.json").json()["keys"]}
    kid = jws.get_unverified_header(issued["checkpoint"])["kid"]
    claims = json.loads(jws.verify(issued["checkpoint"], jwk.construct(keys[kid], "ES256"), ["ES256"]))
    assert claims == {"typ": "registry.audit.checkpoint", "seq": head, "hash": head_hash, "at": issued["at"]}


def test_a_cut_off_tail_is_caught_by_a_checkpoint_kept_before(http, police, token_for):
    auditor = _auditor(token_for)
    _push(http, police, [1, 2, 3])
    token_for("national.public_security", "records:read")  # one more entry, not a record's
    kept = _checkpoint(http, auditor)["checkpoint"]
    head = _head_seq()
    with session_scope() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > head - 2))
    verdict = _verify(http, auditor, [kept]).json()
    assert verdict["valid"] is False
    assert verdict["reason"] == "checkpoint_mismatch" and verdict["broken_at"] == head - 1
    assert verdict["last_seq"] == head - 2


def test_a_recomputed_chain_is_caught_by_a_checkpoint(http, police, token_for):
    auditor = _auditor(token_for)
    ids = _push(http, police, [1, 2, 3])
    kept = _checkpoint(http, auditor)
    _push(http, police, [4])
    later = _checkpoint(http, auditor)
    # The forger changes a record, its record.created entry to match, and every hash after it.
    with session_scope() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == ids[1])).one()
        session.execute(update(Record).where(Record.id == uuid.UUID(ids[1])).values(decision_no="伪造"))
    payload = json.loads(entry.payload) | {"decision_no": "伪造"}
    _rewrite_chain_from(entry.seq, payload=json.dumps(payload, ensure_ascii=False, sort_keys=True))
    # Without a checkpoint the rewrite holds together (that is why outside parties keep them) ...
    assert http.get("/v1/admin/audit/verify", headers=auditor).json()["valid"] is True
    # ... with one, the first entry a checkpoint vouched for that no longer matches is named.
    verdict = _verify(http, auditor, [later["checkpoint"], kept["checkpoint"]]).json()
    assert verdict["valid"] is False
    assert verdict["reason"] == "checkpoint_mismatch" and verdict["broken_at"] == kept["seq"]


def test_a_record_row_edited_in_sql_is_reported_and_untouched_ones_are_not(http, police, token_for):
    auditor = _auditor(token_for)
    ids = _push(http, police, [1, 2, 3, 4, 5, 6])
    edits = {
        ids[0]: {"decision_no": "公刑罚字〔2026〕999号"},
        ids[2]: {"status": "revoked"},
        ids[3]: {"publicity_end": date(2026, 12, 1)},
        ids[4]: {"late_disclosure": None, "under_objection": True},
    }
    with session_scope() as session:
        for record_id, values in edits.items():
            session.execute(update(Record).where(Record.id == uuid.UUID(record_id)).values(**values))
    kept = _checkpoint(http, auditor)["checkpoint"]
    for verdict in (
        http.get("/v1/admin/audit/verify", headers=auditor).json(),
        _verify(http, auditor, [kept]).json(),
    ):
        assert verdict["valid"] is False and verdict["reason"] == "record_altered"
        assert sorted(verdict["altered_records"]) == sorted(edits) and verdict["altered_count"] == 4
        assert "broken_at" not in verdict  # the chain itself is sound


def test_a_subjects_identifier_rewritten_in_sql_is_reported(http, police, token_for):
    # Rewriting whom a record names moves its listing onto another entity without touching the
    # record's row: the entries record the identifier too, and verification holds it.
    auditor = _auditor(token_for)
    ids = _push(http, police, [1, 2])
    patched = http.patch(
        f"/v1/records/{ids[1]}",
        json={"conduct": "更正", "reason": "补正"},
        headers=police | {"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text  # its latest entry is a correction's
    assert http.get("/v1/admin/audit/verify", headers=auditor).json()["valid"] is True
    with session_scope() as session:
        for record_id in ids:
            subject_id = session.get(Record, uuid.UUID(record_id)).subject_id
            session.execute(
                update(Subject).where(Subject.id == subject_id).values(identifier=Subject.identifier + "-X")
            )
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["reason"] == "record_altered"
    assert sorted(verdict["altered_records"]) == sorted(ids)


def test_a_record_inserted_or_deleted_in_sql_is_reported(http, police, token_for):
    auditor = _auditor(token_for)
    ids = _push(http, police, [1, 2, 3])
    planted = uuid.uuid4()
    with session_scope() as session:
        row = session.get(Record, uuid.UUID(ids[0]))
        columns = {c.key: getattr(row, c.key) for c in Record.__mapper__.column_attrs}
        session.add(Record(**(columns | {"id": planted, "external_id": "planted"})))
        session.execute(delete(Record).where(Record.id == uuid.UUID(ids[1])))
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["reason"] == "record_altered"
    assert sorted(verdict["altered_records"]) == sorted([str(planted), ids[1]])


def test_rows_are_checked_in_batches(http, police):
    from app.records.integrity import altered_records

    ids = _push(http, police, [1, 2, 3, 4, 5])
    with session_scope() as session:
        session.execute(update(Record).where(Record.id == uuid.UUID(ids[3])).values(conduct="改过"))
        session.execute(delete(Record).where(Record.id == uuid.UUID(ids[1])))
    with session_scope(writing=False) as session:
        altered = altered_records(session, batch_size=2)
    assert sorted(altered.ids) == sorted([ids[1], ids[3]]) and altered.count == 2


def _foreign_ring():
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyRing([load_key(pem.decode())], token_ttl=3600), pem.decode()


def test_a_forged_or_tampered_checkpoint_is_refused(http, police, token_for):
    auditor = _auditor(token_for)
    _push(http, police, [1, 2])
    real = _checkpoint(http, auditor)
    claims = _claims(real["checkpoint"])
    foreign, foreign_pem = _foreign_ring()
    # Another key under its own kid, and another key under ours.
    forged = foreign.sign_jws(claims)
    posing = jws.sign(
        json.dumps(claims).encode(),
        jwk.construct(foreign_pem, "ES256"),
        algorithm="ES256",
        headers={"kid": get_keyring().active.kid},
    )
    header, _, signature = real["checkpoint"].split(".")
    bumped = json.dumps(claims | {"seq": claims["seq"] + 5}).encode()
    tampered = ".".join([header, base64.urlsafe_b64encode(bumped).rstrip(b"=").decode(), signature])
    # Signed by the registry, but a receipt-like document rather than a checkpoint.
    not_a_checkpoint = get_keyring().sign_jws({k: v for k, v in claims.items() if k != "typ"})
    bad = [forged, posing, tampered, not_a_checkpoint, "not.a.jws"]
    answer = _verify(http, auditor, [real["checkpoint"], *bad])
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "validation_error"
    assert [f["field"] for f in body["fields"]] == [f"checkpoints[{i}]" for i in range(1, 6)]


def test_too_many_checkpoints_is_a_validation_error(http, token_for):
    auditor = _auditor(token_for)
    answer = _verify(http, auditor, ["x"] * 1001)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "checkpoints"


def test_a_clean_registry_verifies_with_checkpoints_from_several_points_in_time(http, police, token_for):
    from app.records.expiry import sweep_expired
    from app.records.lifecycle import set_under_objection
    from app.records.repository import find_record

    auditor = _auditor(token_for)
    kept = [_checkpoint(http, auditor)["checkpoint"]]
    ids = _push(http, police, [1, 2, 3, 4])
    kept.append(_checkpoint(http, auditor)["checkpoint"])
    # Every way the registry itself changes a record must still match what it recorded.
    corrected = http.patch(
        f"/v1/records/{ids[0]}",
        json={"publicity_end": "2028-11-18", "reason": "复议", "correction_decision_no": "复字1号"},
        headers=police | {"If-Match": '"1"'},
    )
    assert corrected.status_code == 200, corrected.text
    revocation = {"reason": "撤销", "decision_no": "公撤字〔2026〕1号"}
    assert http.post(f"/v1/records/{ids[1]}/revoke", json=revocation, headers=police).status_code == 200
    with session_scope() as session:
        record = find_record(session, uuid.UUID(ids[2]))
        assert record is not None
        set_under_objection(session, record, True, "test", "record.objected")
    kept.append(_checkpoint(http, auditor)["checkpoint"])
    with session_scope() as session:
        assert sweep_expired(session, today=date(2045, 1, 1)) == 3
    kept.append(_checkpoint(http, auditor)["checkpoint"])
    verdict = _verify(http, auditor, kept)
    assert verdict.status_code == 200
    assert verdict.json() == {"valid": True, "last_seq": _head_seq()}
    assert http.get("/v1/admin/audit/verify", headers=auditor).json()["valid"] is True


def test_checkpoints_need_audit_read(http, token_for):
    writer = token_for("national.public_security", "records:write", "admin")
    assert http.get("/v1/admin/audit/checkpoint", headers=writer).status_code == 403
    assert http.post("/v1/admin/audit/verify", json={"checkpoints": []}, headers=writer).status_code == 403


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


def test_the_operator_commands_issue_and_hold_checkpoints(http, request, runner, tmp_path):
    from app.cli import cli

    empty = runner.invoke(cli, ["audit", "checkpoint"])  # before any client exists: an empty chain
    assert empty.exit_code == 0, empty.output
    first = empty.stdout.strip()
    assert _claims(first) | {"at": None} == {
        "typ": "registry.audit.checkpoint",
        "seq": 0,
        "hash": GENESIS_HASH,
        "at": None,
    }
    _push(http, request.getfixturevalue("police"), [1, 2, 3])
    second = runner.invoke(cli, ["audit", "checkpoint"]).stdout.strip()
    kept = tmp_path / "checkpoints.txt"
    kept.write_text(f"{first}\n\n{second}\n")
    intact = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(kept)])
    assert intact.exit_code == 0 and json.loads(intact.stdout)["valid"] is True

    head = _claims(second)["seq"]
    with session_scope() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == head))
    cut = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(kept)])
    assert cut.exit_code == 1
    verdict = json.loads(cut.stdout)
    assert verdict["reason"] == "checkpoint_mismatch" and verdict["broken_at"] == head

    kept.write_text(f"{first}\n{second[:-4]}AAAA\n")
    refused = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(kept)])
    assert refused.exit_code == 2
    assert [f["field"] for f in json.loads(refused.stdout)["fields"]] == [f"{kept}:2"]


def test_a_subjects_kind_or_birth_date_rewritten_in_sql_is_reported(http, police, token_for):
    # An organisation made a person leaves the public view; a person's birth date moved changes the
    # minors rule: the entries record both beside the identifier, and verification holds them.
    auditor = _auditor(token_for)
    ids = _push(http, police, [1, 2])
    assert http.get("/v1/admin/audit/verify", headers=auditor).json()["valid"] is True
    with session_scope() as session:
        subject_id = session.get(Record, uuid.UUID(ids[0])).subject_id
        session.execute(update(Subject).where(Subject.id == subject_id).values(kind="natural_person"))
        other = session.get(Record, uuid.UUID(ids[1])).subject_id
        session.execute(update(Subject).where(Subject.id == other).values(birth_date=date(2015, 1, 1)))
    verdict = http.get("/v1/admin/audit/verify", headers=auditor).json()
    assert verdict["valid"] is False and verdict["reason"] == "record_altered"
    assert sorted(verdict["altered_records"]) == sorted(ids)


def test_a_checkpoint_file_that_is_no_text_is_a_bad_input_not_a_tampered_chain(runner, tmp_path):
    from app.cli import cli

    kept = tmp_path / "checkpoints.bin"
    kept.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(kept)])
    assert result.exit_code == 2 and json.loads(result.stdout)["error"] == "validation_error"
