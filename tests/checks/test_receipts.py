"""Receipts verify offline with the published JWKS (python-jose), and a tampered one does not."""

import base64
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jose import jws
from jose.exceptions import JWSError
from sqlalchemy import create_engine, insert, text, update

from app import migrate
from app.catalog.models import Agency
from app.checks.models import Check
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
    http.patch(f"/v1/records/{record['id']}", json={"conduct": "更正"}, headers=police | {"If-Match": "1"})
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
        header, body, signature = row.receipt.split(".")
        assert body == "" and row.receipt == f"{header}..{signature}"
        stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
        assert stored["receipt"] == answer["receipt"]
        payload = json.loads(jws.verify(stored["receipt"], _jwks_key(http, stored["receipt"]), ["ES256"]))
        assert payload["check_id"] == answer["id"] and payload["decision"] == answer["decision"]


def _large_batch_gives_each_answer_its_own_receipt(http, approver_headers):
    from app.checks import receipts

    count = receipts.HELPER_FROM + 7  # signed by the helper and by the server
    items = [
        {
            "subject": {"identifier": make_uscc(1 if n % 3 == 0 else 1000 + n)},
            "action": "administrative_license",
        }
        for n in range(count)
    ]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=approver_headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == count
    key = _jwks_key(http, results[0]["receipt"])
    for item, answer in zip(items, results, strict=True):
        payload = json.loads(jws.verify(answer["receipt"], key, ["ES256"]))
        assert payload["check_id"] == answer["id"]
        assert payload["subject"] == item["subject"]["identifier"]
        assert payload["decision"] == answer["decision"]
    for answer in (results[0], results[receipts.HELPER_FROM // 2], results[-1]):
        stored = http.get(f"/v1/checks/{answer['id']}", headers=approver_headers).json()
        assert stored["receipt"] == answer["receipt"]


def test_a_large_batch_signed_a_chunk_behind_gives_each_answer_its_own_receipt(
    http, police, token_for, clock
):
    """Batches of 1,000 and more are signed in the helper process, one chunk behind the answers:
    every receipt must still belong to its own answer, in order, and verify."""
    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    _large_batch_gives_each_answer_its_own_receipt(http, approver_headers)


def test_a_batch_is_signed_even_when_the_signer_helper_dies(http, police, token_for, clock, monkeypatch):
    """The helper process killed between batches: the next batch is signed in the server itself,
    and the one after starts a new helper."""
    from app.checks import receipts

    retired = []
    retire = receipts._retire
    monkeypatch.setattr(receipts, "_retire", lambda helper: (retired.append(helper), retire(helper)))

    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    _large_batch_gives_each_answer_its_own_receipt(http, approver_headers)
    (dead,) = list(receipts.signer_helper()._processes.values())  # the helper's one process
    dead.kill()
    dead.join(timeout=10)
    _large_batch_gives_each_answer_its_own_receipt(http, approver_headers)
    assert retired and all(helper is retired[0] for helper in retired)  # the dead helper, only
    _large_batch_gives_each_answer_its_own_receipt(http, approver_headers)
    (alive,) = list(receipts.signer_helper()._processes.values())
    assert alive.pid != dead.pid and alive.is_alive()


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


def test_the_downgrade_puts_whole_receipts_back(http, token_for, scratch_database_url):
    approver_headers = approver(token_for)
    answer = check(http, approver_headers, 5, "financing", reference='引号"中文"\t')
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
        migrate.downgrade(url, DETACHED_RECEIPTS_DOWN)
        with engine.connect() as connection:
            receipt = connection.execute(text("SELECT receipt FROM checks")).scalar_one()
        assert receipt == answer["receipt"]
        migrate.upgrade(url)
    finally:
        engine.dispose()


def _gone_within(pid: int, seconds: float) -> bool:
    """The process has exited (checked by its pid: the executor's own thread may reap it first, and
    `Process.is_alive` then says True for a moment)."""
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(pid)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone, or going as we read
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


def test_the_signer_helper_stops_with_the_server(http, police, token_for, clock):
    """Stopped when the server shuts down, and gone by itself should the server be killed."""
    from app.checks import receipts
    from app.main import app

    approver_headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    with TestClient(app) as server:  # a server that starts, answers a large batch, and stops
        _large_batch_gives_each_answer_its_own_receipt(server, approver_headers)
        (process,) = list(receipts.signer_helper()._processes.values())
        assert _running(process.pid)
    assert _gone_within(process.pid, 10)

    killed = subprocess.run(
        [sys.executable, "-c", _START_A_HELPER_AND_DIE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert _gone_within(int(killed.stdout.split()[0]), 10)


# A server process that starts its signer helper and is then killed without any clean-up.
_START_A_HELPER_AND_DIE = """
import os, signal
from app.checks import receipts
helper = receipts.signer_helper()
helper.submit(os.getpid).result()
(process,) = helper._processes.values()
print(process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
