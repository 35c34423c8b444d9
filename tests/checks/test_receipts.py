"""Receipts verify offline with the published JWKS (python-jose), and a tampered one does not."""

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from jose import jws
from jose.exceptions import JWSError
from sqlalchemy import create_engine, delete, insert, select, text, update

from app import migrate
from app.catalog.models import Agency
from app.checks import receipts
from app.checks.models import Check, CheckBatch
from app.db import session_scope
from tests.checks.helpers import approver, check, push
from tests.conftest import make_uscc

# The revision before check rows stored their receipts with the payload detached.
DETACHED_RECEIPTS_DOWN = "d4a6b8c0e2f1"


def _jwks_key(http, receipt):
    kid = jws.get_unverified_header(receipt)["kid"]
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    return next(key for key in keys if key["kid"] == kid)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_receipt_verifies_with_the_jwks_and_names_the_decision(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    answer = check(http, approver_headers, 1, "administrative_license")
    receipt = answer["receipt"]
    assert jws.get_unverified_header(receipt)["alg"] == "ES256"
    payload = json.loads(jws.verify(receipt, _jwks_key(http, receipt), algorithms=["ES256"]))
    assert payload["check_id"] == answer["id"]
    assert payload["subject"] == answer["identifier"]
    assert payload["action"] == "administrative_license" and payload["decision"] == "restrict"
    assert payload["checked_at"] == answer["checked_at"]
    assert payload["measures"] == [
        "restrict_market_access_and_licensing",
        "credit_reminder",
        "strict_review_of_licensing",
    ]
    assert len(payload["state"]["digest"]) == 64 and len(payload["state"]["rules"]) == 64


def test_a_tampered_receipt_fails(http, token_for):
    approver_headers = approver(token_for)
    receipt = check(http, approver_headers, 5, "financing")["receipt"]
    header, body, signature = receipt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload["decision"] == "clear"
    forged = _b64(json.dumps(payload | {"decision": "incentive"}).encode())
    key = _jwks_key(http, receipt)
    with pytest.raises(JWSError):
        jws.verify(f"{header}.{forged}.{signature}", key, algorithms=["ES256"])
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(JWSError):
        jws.verify(f"{header}.{body}.{flipped}", key, algorithms=["ES256"])


def test_the_records_state_changes_the_receipts_digest(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    record = push(http, police, 1)

    def digest() -> str:
        receipt = check(http, approver_headers, 1, "financing")["receipt"]
        return json.loads(jws.get_unverified_claims(receipt))["state"]["digest"]

    first = digest()
    assert digest() == first
    http.patch(
        f"/v1/records/{record['id']}",
        json={"conduct": "更正", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    assert digest() != first


def _stored_row(check_id: str) -> Check:
    with session_scope(writing=False) as session:
        row = session.get(Check, uuid.UUID(check_id))
        assert row is not None
        session.expunge(row)
        return row


def test_a_stored_check_gives_back_the_receipt_it_was_answered_with(http, police, token_for, clock):
    """The row keeps the receipt with its payload detached; reading the check back rebuilds it."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    push(http, police, 2, list_type="red", severity="general")
    items = [
        {"subject": {"identifier": make_uscc(1)}, "action": "administrative_license", "reference": "案〔1〕"},
        {"subject": {"identifier": make_uscc(2)}, "action": "honors"},
        {"subject": {"identifier": make_uscc(3)}, "action": "financing", "as_of": "2026-11-17"},
    ]
    results = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers).json()["results"]
    single = check(http, approver_headers, 1, "financing")
    for answer in [*results, single]:
        row = _stored_row(answer["id"])
        if answer is single:
            header, body, signature = row.receipt.split(".")
            assert body == "" and row.receipt == f"{header}..{signature}"
        else:
            # A batch row names its batch and place; the signed root and the leaves are kept once.
            signed_root, _, index, _ = answer["receipt"].split("~")
            root = jws.get_unverified_claims(signed_root)
            with session_scope(writing=False) as session:
                batch = session.get(CheckBatch, json.loads(root)["root"])
                assert batch.signed_root == signed_root and batch.size == 3 == len(batch.leaves) // 32
            assert row.receipt == f"batch:{batch.key}:{index}" and len(batch.key) == 36
        stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
        assert stored["receipt"] == answer["receipt"]
        payload = receipts.verify(stored["receipt"])
        assert payload["check_id"] == answer["id"] and payload["decision"] == answer["decision"]


def test_a_batch_signs_once_and_each_item_proves_its_own_answer(http, police, token_for, clock):
    """A batch is one signature over a Merkle tree of its answers (app.checks.receipts): every item's
    receipt verifies on its own, offline, with the JWKS, and names its own answer."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    items = [
        {"subject": {"identifier": make_uscc(1 if n % 3 == 0 else 1000 + n)}, "action": "financing"}
        for n in range(37)
    ]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    roots = {result["receipt"].split("~")[0] for result in results}
    assert len(roots) == 1  # one signature for the batch
    (root,) = roots
    claims = json.loads(jws.verify(root, _jwks_key(http, root), ["ES256"]))
    assert claims["typ"] == "registry-check-batch" and claims["size"] == 37
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        payload = receipts.verify(result["receipt"])
        assert payload["check_id"] == result["id"] and payload["subject"] == item["subject"]["identifier"]
        assert payload["decision"] == result["decision"] and payload["format"] == 3
        assert result["receipt"].split("~")[2] == str(index)
    for result in (results[0], results[18], results[-1]):
        stored = http.get(f"/v1/checks/{result['id']}", headers=approver_headers).json()
        assert stored["receipt"] == result["receipt"]


def _flipped(receipt: str, position: int, bit: int) -> str:
    raw = bytearray(receipt.encode())
    raw[position] ^= 1 << bit
    return raw.decode("latin-1")


def test_flipping_any_bit_of_any_receipt_makes_it_fail(http, police, token_for, clock):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    single = check(http, approver_headers, 1, "financing", reference="r-1")["receipt"]
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in (1, 2, 3)]
    batch = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    item = batch.json()["results"][1]["receipt"]
    for receipt in (single, item):
        receipts.verify(receipt)  # genuine
        for position in range(len(receipt)):
            for bit in range(8):
                with pytest.raises(receipts.ReceiptInvalid):
                    receipts.verify(_flipped(receipt, position, bit))
    # Nor is the batch index spelled another way: a leading zero, other scripts' or full-width digits.
    root, payload, index, proof = item.split("~")
    for spelling in ("0" + index, "١", "１"):
        with pytest.raises(receipts.ReceiptInvalid, match="index"):
            receipts.verify("~".join((root, payload, spelling, proof)))


def test_registry_receipts_verify_checks_a_receipt_offline(http, police, token_for, clock, tmp_path):
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in (1, 2)]
    receipt = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers).json()
    receipt = receipt["results"][0]["receipt"]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(http.get("/.well-known/jwks.json").json()))
    command = [str(Path(sys.executable).parent / "registry"), "receipts", "verify", "--jwks", str(jwks)]
    good = subprocess.run([*command, receipt], capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    verdict = json.loads(good.stdout)
    assert verdict["valid"] is True and verdict["payload"]["subject"] == make_uscc(1)
    bad = subprocess.run([*command, _flipped(receipt, 10, 1)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and json.loads(bad.stdout)["valid"] is False
    # A JWKS that cannot be had, or is none: a sentence and exit 2, never a traceback.
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "text.json").write_text("not json")
    for source in (tmp_path / "missing.json", tmp_path / "text.json", tmp_path / "list.json", tmp_path):
        refused = subprocess.run(
            [*command[:-2], "--jwks", str(source), receipt], capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 2, (source, refused.stderr)
        assert refused.stderr.startswith("error:") and "Traceback" not in refused.stderr


def test_other_things_the_registry_signs_are_not_receipts(http, token_for):
    # Access tokens (and audit checkpoints) are signed with the same key: verifying a receipt must
    # not say "valid" of them.
    headers = approver(token_for)
    token = headers["Authorization"].removeprefix("Bearer ")
    with pytest.raises(receipts.ReceiptInvalid, match="not a check or screening receipt"):
        receipts.verify(token)
    good = http.post(
        "/v1/checks", json={"subject": {"identifier": make_uscc(1)}, "action": "financing"}, headers=headers
    ).json()["receipt"]
    assert receipts.verify(good)["subject"] == make_uscc(1)


def test_a_receipt_stored_whole_is_given_back_as_it_is(http, token_for):
    """Checks stored before receipts were detached carry the whole JWS and no rules digest."""
    approver_headers = approver(token_for)
    answer = check(http, approver_headers, 5, "financing")
    with session_scope() as session:
        session.execute(
            update(Check)
            .where(Check.id == uuid.UUID(answer["id"]))
            .values(receipt=answer["receipt"], rules_digest=None, receipt_issuer=None)
        )
    stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
    assert stored["receipt"] == answer["receipt"]


@pytest.mark.parametrize("asked", ["single", "batch"])
def test_the_downgrade_puts_whole_receipts_back(http, token_for, scratch_database_url, asked):
    approver_headers = approver(token_for)
    if asked == "single":
        answer = check(http, approver_headers, 5, "financing", reference='引号"中文"\t')
    else:
        items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in (5, 6, 7)]
        batch = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
        answer = batch.json()["results"][1]
    row = _stored_row(answer["id"])
    url = scratch_database_url
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Agency.__table__).values(code=row.agency_code, name_zh="审批", jurisdiction="national")
            )
            values = {c.name: getattr(row, c.key) for c in Check.__table__.columns}
            connection.execute(insert(Check.__table__).values(values))
            if asked == "batch":  # what the batch's receipts share, kept once
                with session_scope(writing=False) as session:
                    batch = session.scalars(select(CheckBatch)).one()
                    shared = {c.name: getattr(batch, c.key) for c in CheckBatch.__table__.columns}
                connection.execute(insert(CheckBatch.__table__).values(shared))
        migrate.downgrade(url, DETACHED_RECEIPTS_DOWN)
        with engine.connect() as connection:
            receipt = connection.execute(text("SELECT receipt FROM checks")).scalar_one()
        assert receipt == answer["receipt"]
        migrate.upgrade(url)
    finally:
        engine.dispose()


def _batch_of_three(http, police, token_for, clock) -> tuple[dict, list[dict]]:
    """An approver's headers and the results of a batch of three checks, one of a listed company."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "financing"} for n in (1, 2, 3)]
    results = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers).json()["results"]
    return approver_headers, results


def _read_back_as_answered(http, approver_headers: dict, results: list[dict]) -> None:
    for answer in results:
        stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
        assert stored["receipt"] == answer["receipt"]
        assert receipts.verify(stored["receipt"])["check_id"] == answer["id"]


def test_batch_rows_that_name_their_batch_by_its_root_still_read_back(http, police, token_for, clock):
    """Rows written before batches had ids name them by their root: `batch:<root>:<index>`."""
    approver_headers, results = _batch_of_three(http, police, token_for, clock)
    with session_scope() as session:
        batch = session.scalars(select(CheckBatch)).one()
        for answer in results:
            row = session.get(Check, uuid.UUID(answer["id"]))
            row.receipt = row.receipt.replace(batch.key, batch.root)
        batch.key = None
    _read_back_as_answered(http, approver_headers, results)


def test_batch_rows_stored_with_their_proof_still_read_back(http, police, token_for, clock):
    """Rows written before batches were kept once carry `<root JWS>~~<index>~<proof>`."""
    approver_headers, results = _batch_of_three(http, police, token_for, clock)
    with session_scope() as session:
        for answer in results:
            signed_root, _, index, proof = answer["receipt"].split("~")
            session.get(Check, uuid.UUID(answer["id"])).receipt = f"{signed_root}~~{index}~{proof}"
        session.execute(delete(CheckBatch))
    _read_back_as_answered(http, approver_headers, results)
