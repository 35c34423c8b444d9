"""A large batch's receipts are signed by the helper process; they verify all the same, and a helper
that fails leaves the batch to sign its receipts itself."""

import json

import pytest
from jose import jws

from app.checks import service, signer
from tests.checks.helpers import approver, push
from tests.conftest import make_uscc


@pytest.fixture
def helper_for_every_batch(monkeypatch):
    """The helper for batches of any size, in chunks of 2 items; a fresh helper for this test."""
    monkeypatch.setattr(signer, "MIN_BATCH", 1)
    monkeypatch.setattr(service, "_SIGNING_CHUNK", 2)
    monkeypatch.setattr(signer, "_helper", None)
    monkeypatch.setattr(signer, "_helper_failed", False)
    yield
    if signer._helper is not None:
        signer._helper.close()


def _batch(http, headers, numbers):
    items = [{"subject": {"identifier": make_uscc(n)}, "action": "administrative_license"} for n in numbers]
    answer = http.post("/v1/checks/batch", json={"items": items}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def _verified(http, headers, results):
    keys = {key["kid"]: key for key in http.get("/.well-known/jwks.json").json()["keys"]}
    for answer in results:
        receipt = answer["receipt"]
        payload = json.loads(jws.verify(receipt, keys[jws.get_unverified_header(receipt)["kid"]], ["ES256"]))
        assert payload["check_id"] == answer["id"] and payload["decision"] == answer["decision"]
        stored = http.get(f"/v1/checks/{answer['id']}", headers=headers).json()
        assert stored["receipt"] == receipt


def test_the_helper_signs_a_batch_chunk_by_chunk(http, police, token_for, clock, helper_for_every_batch):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    results = _batch(http, headers, [1, 2, 3, 1, 4])
    assert signer._helper is not None and signer._helper.alive() and not signer._helper_failed
    assert [r["decision"] for r in results] == ["restrict", "clear", "clear", "restrict", "clear"]
    _verified(http, headers, results)
    _verified(http, headers, _batch(http, headers, [5, 1, 6]))  # the same helper, again


def test_a_failing_helper_leaves_the_batch_to_sign_its_receipts(
    http, police, token_for, clock, helper_for_every_batch, monkeypatch
):
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    push(http, police, 1)
    _batch(http, headers, [1, 2])
    helper = signer._helper
    assert helper is not None

    def dies(self):
        raise EOFError("signer stream closed")

    monkeypatch.setattr(signer.Helper, "collect", dies)
    results = _batch(http, headers, [1, 2, 3, 4, 5])
    assert signer._helper_failed and signer._helper is None and not helper.alive()
    _verified(http, headers, results)
    _verified(http, headers, _batch(http, headers, [6, 1]))  # and so do the next batches
