"""Bodies read by the routes themselves (app.kit.bodies): what a client may send, and a client gone."""

import asyncio
import json

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from app.kit import bodies
from tests.checks.helpers import approver
from tests.conftest import make_uscc


def test_a_client_gone_before_its_body_was_in_is_a_400_not_a_server_error():
    async def gone() -> dict:
        return {"type": "http.disconnect"}

    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/v1/checks"}, gone)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(bodies.read(request))
    assert refused.value.status_code == 400


def test_a_check_sent_with_a_byte_order_mark_is_read(http, token_for):
    body = json.dumps({"subject": {"identifier": make_uscc(1)}, "action": "financing"}).encode()
    answer = http.post(
        "/v1/checks",
        content=b"\xef\xbb\xbf" + body,
        headers=approver(token_for) | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["identifier"] == make_uscc(1)
